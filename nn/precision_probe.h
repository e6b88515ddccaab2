// `precision: auto`: which arithmetic trains (or runs) a given network fastest on this CPU,
// found by timing a few steps of each candidate on real images rather than guessed from the ISA.
// A guess is wrong both ways: bf16 is 1.3-1.5x faster than fp32 on CPUs with native bf16 dot
// products (AMD Zen 4/5), but slower on a Sapphire Rapids whose AMX the hypervisor hides, although
// both report avx512_bf16.
//
// Candidates are the precisions whose accuracy is known to hold: fp32 always, bf16 mixed precision
// (fp32 master weights and updates; trains MNIST to the same accuracy, README) where the CPU has
// native bf16 instructions — oneDNN would emulate them otherwise, which is never faster.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model.pb.h"

namespace pipeline::cnn {

struct PrecisionTiming {
  proto::Precision precision = proto::PRECISION_FP32;
  double images_per_second = 0;
};

// fp32, then bf16 when the CPU runs bf16 natively (oneDNN's effective ISA is avx512_core_bf16 or
// AMX).
std::vector<proto::Precision> NativePrecisions();

// Training images/s of a fresh copy of `spec` in each of `candidates`, on `n` images and labels
// (NHWC fp32, as Model takes them): one warm-up step each, then two rounds of `steps` steps of
// every candidate in turn, each candidate's best round counting. Weights are drawn from a fixed
// seed and thrown away; nothing outside is touched.
std::vector<PrecisionTiming> TimeTrainingPrecisions(const proto::ModelSpec& spec,
                                                    const std::vector<proto::Precision>& candidates,
                                                    const float* images, const int32_t* labels,
                                                    int64_t n, int steps = 2);
// The first timing (fp32) unless another is at least `margin` times faster: a near tie keeps
// fp32, so the choice — and with it the trained weights — does not flip from run to run on one
// CPU with timing noise.
proto::Precision ChooseFastest(const std::vector<PrecisionTiming>& timings, double margin = 1.1);

// "fp32" / "bf16".
std::string PrecisionName(proto::Precision precision);
// "bf16 (auto: fp32 5786 img/s, bf16 7698 img/s; timed in 0.31 s)": what a run line, a report
// and a checkpoint say.
std::string DescribeChoice(proto::Precision chosen, const std::vector<PrecisionTiming>& timings,
                           double seconds);

}  // namespace pipeline::cnn
