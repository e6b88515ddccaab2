#include "nn/precision_probe.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "nn/model.h"
#include "nn/trainer.h"

namespace pipeline::cnn {
namespace {

constexpr uint64_t kProbeSeed = 1;
constexpr int kRounds = 2;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

proto::ModelSpec with_precision(proto::ModelSpec spec, proto::Precision precision) {
  spec.set_precision(precision);
  return spec;
}

// Images/s of each of `works` (each handles `n` images per call): one untimed call each (the
// primitives are created, the OpenMP team woken), then `rounds` rounds that time `calls` calls of
// every candidate in turn, keeping each one's best round. Interleaving and best-of keep a burst
// of other work on the machine from deciding the comparison.
std::vector<double> best_rates(int64_t n, int calls, int rounds,
                               const std::vector<std::function<void()>>& works) {
  for (const auto& work : works) work();
  std::vector<double> best(works.size(), 0.0);
  for (int round = 0; round < rounds; ++round) {
    for (size_t i = 0; i < works.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      for (int c = 0; c < calls; ++c) works[i]();
      best[i] = std::max(best[i], static_cast<double>(n) * calls / seconds_since(start));
    }
  }
  return best;
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
  std::vector<std::unique_ptr<Model>> models;
  std::vector<std::unique_ptr<Trainer>> trainers;
  std::vector<std::function<void()>> works;
  for (const proto::Precision precision : candidates) {
    models.push_back(std::make_unique<Model>(with_precision(spec, precision), kProbeSeed));
    trainers.push_back(std::make_unique<Trainer>(*models.back(), sgd, constant));
    works.push_back(
        [&trainer = *trainers.back(), images, labels, n] { trainer.step(images, labels, n); });
  }
  const std::vector<double> rates = best_rates(n, steps, kRounds, works);
  trainers.clear();  // before the models they train
  std::vector<PrecisionTiming> timings;
  for (size_t i = 0; i < candidates.size(); ++i) timings.push_back({candidates[i], rates[i]});
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
