/* record — `leakdiff record -- CMD ARGS`: run CMD with the preload library
 * (cmd/leakdiff/preload/record.c) and turn what it reports (recproto.h)
 * into a memkit heap trace, with the exact current and peak bytes printed
 * at the end, even when CMD crashes.
 *
 * ld_record_main() is the whole subcommand: it parses its own options
 * (argv[0] is "record"), and returns the exit status leakdiff must exit
 * with: CMD's own, 128 + signal when CMD died of one, 126/127 when CMD
 * cannot be run, 2 on the recorder's own errors. Single-threaded. */
#ifndef LD_RECORD_H
#define LD_RECORD_H

int ld_record_main(int argc, char **argv);

#endif
