#include "stages/cnn/train_setup.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/precision_probe.h"

namespace pipeline::cnn {
namespace {

// precision auto: times each native precision on the first batch and keeps the fastest.
void ChoosePrecision(TrainConfig& config, proto::ModelSpec& spec, const Batch& first,
                     const SumOverRanks& sum_over_ranks) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> labels(first.labels);
  const int64_t classes = resolve_model(spec).classes;
  for (int32_t& label : labels) label = std::clamp<int32_t>(label, 0, classes - 1);
  std::vector<PrecisionTiming> timings = TimeTrainingPrecisions(
      spec, NativePrecisions(), first.data.data(), labels.data(), first.size());
  std::vector<float> rates;
  for (const PrecisionTiming& timing : timings) {
    rates.push_back(static_cast<float>(timing.images_per_second));
  }
  if (sum_over_ranks) sum_over_ranks(rates);  // every rank decides on the same figures
  for (size_t i = 0; i < timings.size(); ++i) timings[i].images_per_second = rates[i];
  const proto::Precision chosen = ChooseFastest(timings);
  spec.set_precision(chosen);
  config.model.set_precision(chosen);
  config.precision_auto = false;
  config.precision_note = DescribeChoice(
      chosen, timings,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace

TrainingSetup SetUpTraining(TrainConfig& config, uint64_t model_seed, const Batch& first,
                            int64_t global_batch, const SumOverRanks& sum_over_ranks) {
  proto::ModelSpec spec = config.model;
  if (config.input_from_data) {
    spec.mutable_input()->set_rows(static_cast<uint32_t>(first.rows));
    spec.mutable_input()->set_cols(static_cast<uint32_t>(first.cols));
    spec.mutable_input()->set_channels(static_cast<uint32_t>(first.channels));
  }
  TrainingSetup setup;
  try {
    if (config.precision_auto) ChoosePrecision(config, spec, first, sum_over_ranks);
    setup.model = std::make_unique<Model>(spec, model_seed);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("model: ") + e.what());
  }
  setup.epochs_note = ResolveEpochs(config, first.planned_epochs);
  setup.batch_size = global_batch;
  setup.epoch_size = first.epoch_size;
  setup.steps_per_epoch =
      setup.epoch_size > 0 ? (setup.epoch_size + global_batch - 1) / global_batch : 0;
  const bool needs_epoch_size = config.schedule != "constant" || config.warmup_epochs > 0;
  if (setup.steps_per_epoch == 0 && needs_epoch_size) {
    throw std::runtime_error("schedule " + config.schedule +
                             " needs the epoch size, which the batches do not carry "
                             "(use schedule constant without warm-up)");
  }
  setup.schedule = BuildSchedule(config, setup.steps_per_epoch);
  try {
    setup.trainer = std::make_unique<Trainer>(*setup.model, config.optimizer, setup.schedule);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  return setup;
}

}  // namespace pipeline::cnn
