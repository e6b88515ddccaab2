#include "nn/precision_probe.h"

#include <chrono>
#include <cstdio>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "nn/model.h"
#include "nn/trainer.h"

namespace pipeline::cnn {
namespace {

constexpr uint64_t kProbeSeed = 1;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

proto::ModelSpec with_precision(proto::ModelSpec spec, proto::Precision precision) {
  spec.set_precision(precision);
  return spec;
}

// Images/s of `work` (which handles `n` images per call), after one untimed call that creates
// the primitives.
template <typename Work>
double images_per_second(int64_t n, int calls, Work&& work) {
  work();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) work();
  return static_cast<double>(n) * calls / seconds_since(start);
}

}  // namespace

std::vector<proto::Precision> NativePrecisions() {
  std::vector<proto::Precision> precisions{proto::PRECISION_FP32};
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  if (isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx) {
    precisions.push_back(proto::PRECISION_BF16);
  }
  return precisions;
}

std::vector<PrecisionTiming> TimeTrainingPrecisions(const proto::ModelSpec& spec,
                                                    const std::vector<proto::Precision>& candidates,
                                                    const float* images, const int32_t* labels,
                                                    int64_t n, int steps) {
  proto::OptimizerSpec sgd;
  sgd.mutable_sgd()->set_momentum(0.9f);
  proto::ScheduleSpec constant;
  constant.set_base_lr(1e-3f);
  std::vector<PrecisionTiming> timings;
  for (const proto::Precision precision : candidates) {
    Model model(with_precision(spec, precision), kProbeSeed);
    Trainer trainer(model, sgd, constant);
    timings.push_back(
        {precision, images_per_second(n, steps, [&] { trainer.step(images, labels, n); })});
  }
  return timings;
}

std::vector<PrecisionTiming> TimeInferencePrecisions(
    const proto::ModelSpec& spec, const std::vector<proto::Precision>& candidates,
    const float* images, int64_t n, int batches) {
  std::vector<PrecisionTiming> timings;
  for (const proto::Precision precision : candidates) {
    Model model(with_precision(spec, precision), kProbeSeed, Model::Weights::kLoadedLater);
    std::vector<float> logits(static_cast<size_t>(n * model.classes()));
    timings.push_back({precision, images_per_second(n, batches, [&] {
                         model.predict_logits(images, n, logits.data());
                       })});
  }
  return timings;
}

proto::Precision ChooseFastest(const std::vector<PrecisionTiming>& timings, double margin) {
  if (timings.empty()) return proto::PRECISION_FP32;
  PrecisionTiming best = timings.front();
  for (const PrecisionTiming& timing : timings) {
    if (timing.images_per_second > best.images_per_second * margin) best = timing;
  }
  return best.precision;
}

std::string PrecisionName(proto::Precision precision) {
  return precision == proto::PRECISION_BF16 ? "bf16" : "fp32";
}

std::string DescribeChoice(proto::Precision chosen, const std::vector<PrecisionTiming>& timings,
                           double seconds) {
  std::string text = PrecisionName(chosen) + " (auto:";
  for (size_t i = 0; i < timings.size(); ++i) {
    char figure[64];
    std::snprintf(figure, sizeof(figure), "%s %s %.0f img/s", i == 0 ? "" : ",",
                  PrecisionName(timings[i].precision).c_str(), timings[i].images_per_second);
    text += figure;
  }
  if (timings.size() < 2) text += "; no native bf16 on this CPU";
  char took[48];
  std::snprintf(took, sizeof(took), "; timed in %.2f s)", seconds);
  return text + took;
}

}  // namespace pipeline::cnn
