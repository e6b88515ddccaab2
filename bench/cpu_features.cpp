#include "cpu_features.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>

namespace pipeline::bench {
namespace {

constexpr long kArchRequestComponentPermission = 0x1023;  // ARCH_REQ_XCOMP_PERM
constexpr long kTileDataComponent = 18;                   // XFEATURE_XTILEDATA

const char* YesNo(bool value) { return value ? "yes" : "no"; }

}  // namespace

std::string DescribeMatrixFeatures() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool avx512_fp16 = ((edx >> 23) & 1) != 0;  // only Sapphire Rapids and later have it
  const bool amx_bf16 = ((edx >> 22) & 1) != 0;
  __cpuid_count(7, 1, eax, ebx, ecx, edx);
  const bool avx512_bf16 = ((eax >> 5) & 1) != 0;
  // Linux hands out AMX tile state only on request; a kernel or hypervisor without it refuses.
  const bool tile_state =
      syscall(SYS_arch_prctl, kArchRequestComponentPermission, kTileDataComponent) == 0;
  return std::string("CPU: avx512_bf16 ") + YesNo(avx512_bf16) + ", avx512_fp16 " +
         YesNo(avx512_fp16) + ", AMX-BF16 " + YesNo(amx_bf16) + " (CPUID), AMX tile state " +
         YesNo(tile_state) + " (kernel)";
}

std::string CpuName() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, name = "unknown CPU", family, model;
  const auto value = [](const std::string& text) { return text.substr(text.find(':') + 2); };
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0 && name == "unknown CPU") name = value(line);
    if (line.rfind("cpu family", 0) == 0 && family.empty()) family = value(line);
    if (line.rfind("model\t", 0) == 0 && model.empty()) model = value(line);
  }
  return name + " (family " + family + ", model " + model + ")";
}

}  // namespace pipeline::bench
