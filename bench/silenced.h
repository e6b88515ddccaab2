// Silences one of this process's output streams (stdout or stderr) for a scope: the stages of a
// benchmarked graph print their own lines (counts, checkpoints, reports, epoch lines), and a
// benchmark's output should be its figures alone.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace pipeline::bench {

class Silenced {
 public:
  explicit Silenced(int fd) : fd_(fd) {
    Flush();
    saved_ = dup(fd_);
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, fd_);
      close(null);
    }
  }
  ~Silenced() {
    Flush();
    if (saved_ >= 0) {
      dup2(saved_, fd_);
      close(saved_);
    }
  }
  Silenced(const Silenced&) = delete;
  Silenced& operator=(const Silenced&) = delete;

 private:
  static void Flush() {
    std::cout.flush();
    std::cerr.flush();
    std::fflush(stdout);
    std::fflush(stderr);
  }

  int fd_;
  int saved_ = -1;
};

}  // namespace pipeline::bench
