#ifndef TOKENSCOPE_TERMGUARD_H
#define TOKENSCOPE_TERMGUARD_H
/* Restores the terminal when the process crashes while curses owns it (a Swift trap is SIGILL or
 * SIGTRAP): saves the tty modes before curses starts, and on a fatal signal writes the saved
 * "attributes off, cursor on, leave alternate screen" sequences, restores the tty, puts back the
 * previous handler and re-raises, so the crash report still prints, on a usable terminal. */
void termguard_save_tty(void);
/* Call after newterm(): caches sgr0/cnorm/rmcup and installs the handlers. */
void termguard_arm(void);
/* Call after endwin(): removes the handlers. */
void termguard_disarm(void);
#endif
