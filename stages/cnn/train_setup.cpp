#include "stages/cnn/train_setup.h"

#include <stdexcept>
#include <string>

namespace pipeline::cnn {

TrainingSetup SetUpTraining(TrainConfig& config, uint64_t model_seed, const Batch& first,
                            int64_t global_batch) {
  proto::ModelSpec spec = config.model;
  if (config.input_from_data) {
    spec.mutable_input()->set_rows(static_cast<uint32_t>(first.rows));
    spec.mutable_input()->set_cols(static_cast<uint32_t>(first.cols));
    spec.mutable_input()->set_channels(static_cast<uint32_t>(first.channels));
  }
  TrainingSetup setup;
  try {
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
