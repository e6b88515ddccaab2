#include "stages/cnn/train_resume.h"

#include <google/protobuf/util/message_differencer.h>

#include <stdexcept>

#include "nn/precision_probe.h"
#include "stages/cnn/checkpoint.h"
#include "stages/cnn/console.h"

namespace pipeline::cnn {

std::string Differences(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  std::string report;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&report);
  return differencer.Compare(a, b) ? "" : report;
}

std::shared_ptr<const ModelSnapshot> LoadResumeCheckpoint(TrainConfig& config, uint64_t graph_seed,
                                                          const std::string& stage_name) {
  std::shared_ptr<const ModelSnapshot> loaded = LoadCheckpoint(config.resume);
  const ModelSnapshot& from = *loaded;
  if (!from.optimizer_state) {
    throw std::runtime_error("resume: checkpoint " + config.resume + " holds no optimizer state");
  }
  if (config.input_from_data) *config.model.mutable_input() = from.spec.input();
  if (config.precision_auto) {  // the resumed run continues in the precision it started with
    config.model.set_precision(from.spec.precision());
    config.precision_auto = false;
    config.precision_note = !from.precision_choice.empty()
                                ? from.precision_choice
                                : PrecisionName(from.spec.precision()) + " (the checkpoint's)";
  }
  if (const std::string diff = Differences(from.spec, config.model); !diff.empty()) {
    throw std::runtime_error("resume: checkpoint " + config.resume +
                             " holds another model than this stage trains:\n" + diff);
  }
  if (from.optimizer.kind_case() != config.optimizer.kind_case()) {
    throw std::runtime_error(
        "resume: checkpoint " + config.resume +
        " was trained with another optimizer: " + from.optimizer.ShortDebugString());
  }
  if (from.position.graph_seed() != graph_seed || from.position.stage_name() != stage_name) {
    ConsoleLine("resume: " + config.resume + " was trained with graph seed " +
                std::to_string(from.position.graph_seed()) + " by stage \"" +
                from.position.stage_name() +
                "\"; data order and augmentation will differ from that run");
  }
  return loaded;
}

void RestoreResume(const ModelSnapshot& from, const TrainConfig& config,
                   const proto::ScheduleSpec& schedule, const Normalization& normalization,
                   Model& model, Trainer& trainer) {
  try {
    model.load_state_tensors(*from.tensors);
    trainer.optimizer().load_state(*from.optimizer_state);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("resume: checkpoint " + config.resume + ": " + e.what());
  }
  model.set_step(from.position.global_step());
  if (!Differences(from.optimizer, config.optimizer).empty() ||
      !Differences(from.schedule, schedule).empty()) {
    ConsoleLine("resume: the optimizer or schedule differs from " + config.resume +
                "'s; training continues, but not as the original run would have");
  }
  if (from.normalization != normalization) {
    throw std::runtime_error("resume: the batches are normalized differently from " +
                             config.resume + "'s training data");
  }
}

}  // namespace pipeline::cnn
