#define _XOPEN_SOURCE_EXTENDED 1
#include "termguard.h"
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <ncursesw/curses.h>
#include <term.h>

static struct termios saved_tty;
static int have_tty = 0;
static char restore_seq[256];
static size_t restore_len = 0;
static const int fatal[] = { SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE };
static struct sigaction previous[sizeof fatal / sizeof fatal[0]];
static int armed = 0;

void termguard_save_tty(void) {
    if (tcgetattr(0, &saved_tty) == 0) have_tty = 1;
}

static void append(const char *cap) {
    char *s = tigetstr((char *)cap);
    if (s == 0 || s == (char *)-1) return;
    size_t n = strlen(s);
    if (restore_len + n < sizeof restore_seq) { memcpy(restore_seq + restore_len, s, n); restore_len += n; }
}

static void on_fatal(int sig) {
    if (restore_len) { ssize_t r = write(1, restore_seq, restore_len); (void)r; }
    if (have_tty) tcsetattr(0, TCSANOW, &saved_tty);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        if (fatal[i] == sig) sigaction(sig, &previous[i], 0);
    raise(sig);
}

void termguard_arm(void) {
    restore_len = 0;
    append("sgr0"); append("cnorm"); append("rmcup");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &sa, &previous[i]);
    armed = 1;
}

void termguard_disarm(void) {
    if (!armed) return;
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &previous[i], 0);
    armed = 0;
}
