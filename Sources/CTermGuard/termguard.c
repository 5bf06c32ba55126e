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
static char restore_seq[512];
static size_t restore_len = 0;
/* Crashes (a Swift trap is SIGILL or SIGTRAP, a failed precondition SIGILL, abort() SIGABRT) and the
 * signals that end a process from outside (Ctrl-C, kill, a closed terminal or SSH link, Ctrl-\). */
static const int guarded[] = { SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NGUARDED (sizeof guarded / sizeof guarded[0])
static struct sigaction previous[NGUARDED];
static volatile sig_atomic_t armed = 0;

void termguard_save_tty(void) {
    if (tcgetattr(0, &saved_tty) == 0) have_tty = 1;
}

static void append_bytes(const char *s, size_t n) {
    if (restore_len + n < sizeof restore_seq) { memcpy(restore_seq + restore_len, s, n); restore_len += n; }
}

static void append(const char *cap) {
    char *s = tigetstr((char *)cap);
    if (s == 0 || s == (char *)-1) return;
    append_bytes(s, strlen(s));
}

/* Async-signal-safe only: write, tcsetattr, sigaction, sigprocmask, raise. */
static void on_signal(int sig, siginfo_t *info, void *context) {
    if (armed) {
        armed = 0;
        if (restore_len) { ssize_t r = write(1, restore_seq, restore_len); (void)r; }
        if (have_tty) tcsetattr(0, TCSANOW, &saved_tty);
    }
    for (size_t i = 0; i < NGUARDED; i++) {
        if (guarded[i] != sig) continue;
        /* A crash first goes to the handler that was there before, called directly: the Swift
         * runtime's backtracer, which prints its report on the restored terminal. */
        int crash = i < 6;
        struct sigaction *p = &previous[i];
        if (crash) {
            if ((p->sa_flags & SA_SIGINFO) && p->sa_sigaction) {
                p->sa_sigaction(sig, info, context);
            } else if (!(p->sa_flags & SA_SIGINFO) && p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
                p->sa_handler(sig);
            }
        }
    }
    /* Then the process dies of the signal itself, with its default action (a core dump for a
     * crash, 128 + n for the shell), even when it came from kill and would not fault again. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    raise(sig);
    sigprocmask(SIG_UNBLOCK, &set, 0);
}

void termguard_arm(void) {
    restore_len = 0;
    /* Attributes off, mouse reporting off (the modes ncurses may have turned on), cursor visible,
     * main screen back. */
    append("sgr0");
    static const char mouse_off[] = "\033[?1006l\033[?1003l\033[?1002l\033[?1000l";
    append_bytes(mouse_off, sizeof mouse_off - 1);
    append("cnorm"); append("rmcup");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NGUARDED; i++) sigaction(guarded[i], &sa, &previous[i]);
    armed = 1;
}

void termguard_disarm(void) {
    if (!armed) return;
    armed = 0;
    for (size_t i = 0; i < NGUARDED; i++) sigaction(guarded[i], &previous[i], 0);
}
