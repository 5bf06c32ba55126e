#ifndef TOKENSCOPE_CNCURSESW_SHIM_H
#define TOKENSCOPE_CNCURSESW_SHIM_H
/* SwiftPM drops pkg-config's -D flags: without this, cchar_t and the wide API do not exist. */
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <langinfo.h>
#include <wchar.h>
#include <ncursesw/curses.h>
#include <term.h>

/* Macros and C globals Swift cannot import (or rejects in Swift 6 mode), as functions. */
static inline attr_t nc_a_bold(void) { return A_BOLD; }
static inline attr_t nc_a_dim(void) { return A_DIM; }
static inline attr_t nc_a_reverse(void) { return A_REVERSE; }
static inline attr_t nc_a_underline(void) { return A_UNDERLINE; }
static inline WINDOW *nc_stdscr(void) { return stdscr; }
static inline int nc_colors(void) { return COLORS; }
static inline int nc_color_pairs(void) { return COLOR_PAIRS; }
static inline void nc_getmaxyx(WINDOW *w, int *y, int *x) { getmaxyx(w, *y, *x); }
static inline int nc_codeset_is_utf8(void) {
    const char *c = nl_langinfo(CODESET);
    return c && (c[0] == 'U' || c[0] == 'u') && (c[1] == 'T' || c[1] == 't') && (c[2] == 'F' || c[2] == 'f');
}
/* One wide character with attributes and an int-sized colour pair. */
static inline int nc_put_wch(WINDOW *w, int y, int x, wchar_t ch, attr_t a, int pair) {
    cchar_t cc;
    wchar_t s[2] = { ch, L'\0' };
    if (setcchar(&cc, s, a, 0, &pair) == ERR) return ERR;
    return mvwadd_wch(w, y, x, &cc);
}
/* Colours the terminal's terminfo entry declares (before start_color sets COLORS). */
static inline int nc_terminfo_colors(void) { return tigetnum("colors"); }
static inline int nc_has_cup(void) {
    const char *cup = tigetstr("cup");
    return cup != 0 && cup != (char *)-1;
}
/* Mouse: report left-button presses and clicks (macros in curses.h). Returns 0 when unsupported. */
static inline int nc_enable_mouse(void) {
    mmask_t got = mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED, NULL);
    mouseinterval(0);
    return got != 0;
}
/* The last mouse event: 1 and its cell for a left-button press or click, else 0. */
static inline int nc_left_click(int *y, int *x) {
    MEVENT e;
    if (getmouse(&e) != OK) return 0;
    if (!(e.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED))) return 0;
    *y = e.y; *x = e.x;
    return 1;
}
#endif
