/* clock.h — monotonic and wall clocks, ISO-8601 time stamps */
#ifndef FACESWARM_CORE_CLOCK_H
#define FACESWARM_CORE_CLOCK_H

double fs_now(void);            /* monotonic seconds */
double fs_wall_time(void);      /* seconds since the epoch */
void fs_iso_time(char out[32]); /* UTC, 2026-11-21T12:00:00Z */

#endif
