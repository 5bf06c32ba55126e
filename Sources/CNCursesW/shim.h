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
/* Takes KEY_MOUSE out of ncurses' key table again (mousemask and the resume after Ctrl-Z put it back). */
static inline void nc_raw_mouse_reports(void) { keyok(KEY_MOUSE, FALSE); }
/* Mouse: ncurses turns reporting on (and off at endwin and Ctrl-Z), but the reports reach the caller as
 * raw bytes (ESC [ < ... M, or ESC [ M and three bytes): with KEY_MOUSE in its key table, ncurses parses
 * them itself, reading the rest straight from the terminal, and after a report that completes no gesture
 * (a release, a wheel turn) it waits in a blocking read for the next byte, whatever the timeout, so the
 * program freezes until the next key. Returns 0 when the terminal has no mouse. */
static inline int nc_enable_mouse(void) {
    mmask_t got = mousemask(BUTTON1_PRESSED, NULL);
    nc_raw_mouse_reports();
    return got != 0;
}
#endif
