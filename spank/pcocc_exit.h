/* Generated from internal/exitcode (go test ./internal/exitcode -update): do not edit. */
#ifndef PCOCC_EXIT_H
#define PCOCC_EXIT_H

#define PCOCC_EXIT_OK          0 /* success */
#define PCOCC_EXIT_FAILURE     1 /* the operation failed */
#define PCOCC_EXIT_USAGE       2 /* bad command line or configuration */
#define PCOCC_EXIT_SETUP     125 /* the container could not be set up */
#define PCOCC_EXIT_NOT_EXEC  126 /* the command exists but cannot be executed */
#define PCOCC_EXIT_NOT_FOUND 127 /* the command was not found in the container */
#define PCOCC_EXIT_SIGNALED  128 /* 128+N: killed by signal N */

#endif
