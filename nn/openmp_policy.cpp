#include "nn/openmp_policy.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace pipeline::cnn {
namespace {

bool policy_set_by_user() {
  return std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr;
}

// Threads of the whole machine ready to run right now, this one included; 0 when unknown.
int runnable_threads() {
  std::ifstream stat("/proc/stat");
  std::string key;
  while (stat >> key) {
    if (key == "procs_running") {
      int count = 0;
      stat >> count;
      return count;
    }
    stat.ignore(1 << 20, '\n');
  }
  return 0;
}

bool machine_is_quiet() {
  int most = 0;
  for (int sample = 0; sample < 3; ++sample) {
    if (sample > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    most = std::max(most, runnable_threads());
  }
  return most == 1;  // only the thread asking
}

bool reexec_with(const char* name, const char* value, char** argv) {
  if (setenv(name, value, 1) != 0) return false;
  execv("/proc/self/exe", argv);
  return false;  // exec failed: carry on as we are
}

}  // namespace

bool reexec_with_openmp_wait_policy(char** argv) {
  if (policy_set_by_user()) return false;
  return machine_is_quiet() ? reexec_with("GOMP_SPINCOUNT", "200000", argv)
                            : reexec_with("OMP_WAIT_POLICY", "passive", argv);
}

bool reexec_with_passive_openmp(char** argv) {
  if (policy_set_by_user()) return false;
  return reexec_with("OMP_WAIT_POLICY", "passive", argv);
}

}  // namespace pipeline::cnn
