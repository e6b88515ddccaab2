#include "nn/openmp_policy.h"

#include <unistd.h>

#include <cstdlib>

namespace pipeline::cnn {

bool reexec_with_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) {
    return false;
  }
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return false;
  execv("/proc/self/exe", argv);
  return false;  // exec failed: carry on as we are
}

}  // namespace pipeline::cnn
