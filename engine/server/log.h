// The process's own log lines ("plexgate: ..." on stderr), filtered by the
// configuration's log_level. Safe from any thread; the level is read with
// one relaxed atomic load, so a disabled line costs nothing else.
#pragma once

#include "engine/config/config.h"

namespace plexgate::server {

// Applies from the next line on (start-up and every reload set it).
void setLogLevel(config::LogLevel level);
bool logEnabled(config::LogLevel level);

// Writes "plexgate: MESSAGE\n" ("plexgate: warning: MESSAGE\n" at Warn)
// to stderr when `level` is enabled.
void logf(config::LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace plexgate::server
