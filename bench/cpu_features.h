// What the CPU and kernel let oneDNN use, printed by the benchmarks beside their figures: the bf16
// floor of issue 3 assumes AMX tiles, which a virtual machine may hide even on a CPU that has them.
#pragma once

#include <string>

namespace pipeline::bench {

// The CPU as /proc/cpuinfo names it, e.g. "AMD EPYC (family 26, model 2)": what every figure a
// benchmark prints was measured on.
std::string CpuName();

// One line, e.g. "CPU: avx512_bf16 yes, avx512_fp16 yes, AMX-BF16 no (CPUID), AMX tile state no".
std::string DescribeMatrixFeatures();

}  // namespace pipeline::bench
