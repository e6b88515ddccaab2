// Progress and result lines on stderr, shared by the CNN stages that run on different threads.
// On a terminal a status line is redrawn in place (\r); elsewhere (a log file, CI) only whole
// lines are written, so logs stay readable.
#pragma once

#include <string>

namespace pipeline::cnn {

bool StderrIsTerminal();

// Turns progress and result lines off for the whole process: the ranks other than 0 of an mpirun
// job print nothing but errors (which do not go through here).
void SetConsoleQuiet(bool quiet);

// A permanent line. On a terminal it replaces the status line being drawn.
void ConsoleLine(const std::string& line);

// Redraws the status line in place (terminal only; does nothing elsewhere).
void ConsoleStatus(const std::string& status);

// Seconds since the program started (taken at static initialisation), for "time to accuracy".
double SecondsSinceProgramStart();

// "1:05", "12:00:07" for ETAs.
std::string FormatDuration(double seconds);

}  // namespace pipeline::cnn
