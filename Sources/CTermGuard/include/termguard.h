#ifndef TOKENSCOPE_TERMGUARD_H
#define TOKENSCOPE_TERMGUARD_H
/* Restores the terminal when the process ends while curses owns it: on a crash (SIGILL, SIGTRAP,
 * SIGSEGV, SIGBUS, SIGABRT, SIGFPE) and on SIGINT, SIGTERM, SIGHUP and SIGQUIT. The handler writes
 * the saved "attributes off, mouse off, cursor on, leave alternate screen" sequences and restores
 * the tty modes saved before curses started (async-signal-safe calls only). A crash then calls the
 * previous handler (the Swift runtime's backtracer prints its report on the restored terminal).
 * Finally the process dies of the signal with its default action, within the handler: a core dump
 * for a crash, 128 + n for the shell, even for a crash signal sent with kill, which would not fault
 * again. SIGTSTP and SIGCONT stay ncurses' (suspend, redraw). */
void termguard_save_tty(void);
/* Call after newterm(): caches the sequences and installs the handlers. */
void termguard_arm(void);
/* Call after endwin(): removes the handlers. */
void termguard_disarm(void);
#endif
