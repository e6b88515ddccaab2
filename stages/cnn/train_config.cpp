#include "stages/cnn/train_config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "nn/model_spec.h"
#include "pipeline/proto_text_limits.h"

namespace pipeline::cnn {
namespace {

// Collects the first protobuf text-format error with its position.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!text.empty()) return;
    text = std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
  }
  std::string text;
};

proto::OptimizerSpec BuildOptimizer(const Params& params) {
  const std::string& kind = params.get_string("optimizer");
  const auto momentum = static_cast<float>(params.get_float("momentum"));
  const auto weight_decay = static_cast<float>(params.get_float("weight_decay"));
  const auto epsilon = static_cast<float>(params.get_float("epsilon"));
  proto::OptimizerSpec spec;
  if (kind == "sgd") {
    proto::SgdSpec* sgd = spec.mutable_sgd();
    sgd->set_momentum(momentum);
    sgd->set_nesterov(params.get_bool("nesterov"));
    sgd->set_weight_decay(weight_decay);
    if (sgd->nesterov() && momentum <= 0) {
      throw std::invalid_argument("nesterov needs momentum > 0");
    }
  } else if (kind == "adam" || kind == "adamw") {
    proto::AdamSpec* adam = kind == "adam" ? spec.mutable_adam() : spec.mutable_adamw();
    adam->set_beta1(static_cast<float>(params.get_float("beta1")));
    adam->set_beta2(static_cast<float>(params.get_float("beta2")));
    adam->set_epsilon(epsilon);
    adam->set_weight_decay(weight_decay);
  } else {
    proto::RmspropSpec* rmsprop = spec.mutable_rmsprop();
    rmsprop->set_alpha(static_cast<float>(params.get_float("alpha")));
    rmsprop->set_epsilon(epsilon);
    rmsprop->set_momentum(momentum);
    rmsprop->set_weight_decay(weight_decay);
  }
  return spec;
}

}  // namespace

std::vector<ParamSpec> TrainParams() {
  return {
      InputFile(StringParam("model", "seed",
                            "\"seed\" (conv3x3*32, conv3x3*64, maxpool2, dense128, dense) or the "
                            "path of a ModelSpec in protobuf text format (proto/model.proto)"),
                {"seed"}),
      IntParam("classes", 10, 2, 1e6, "classes of the seed network (a spec file sets its own)"),
      ChoiceParam("precision", "auto", {"auto", "fp32", "bf16"},
                  "fp32, bf16 mixed precision (bf16 activations and weights in the primitives, "
                  "fp32 master weights and updates), or auto: whichever trains this network "
                  "faster on this CPU, timed on the first batch (bf16 only where the CPU has "
                  "native bf16 and it is >= 10% faster; a resumed run keeps its checkpoint's)"),
      FloatParam("label_smoothing", 0, 0, 0.5, "train against (1 - s) * one_hot + s / classes"),
      ChoiceParam("optimizer", "adam", {"sgd", "adam", "adamw", "rmsprop"},
                  "update rule (PyTorch's): sgd, adam, adamw (decoupled decay), rmsprop"),
      FloatParam("lr", 0.003, 1e-9, 100, "peak learning rate (the schedule scales it)"),
      FloatParam("momentum", 0.9, 0, 0.9999, "sgd and rmsprop momentum"),
      BoolParam("nesterov", false, "sgd: Nesterov momentum"),
      FloatParam("weight_decay", 0, 0, 1,
                 "L2 penalty (sgd, adam, rmsprop) or decoupled decay (adamw)"),
      FloatParam("beta1", 0.9, 0, 0.9999, "adam/adamw first-moment decay"),
      FloatParam("beta2", 0.999, 0, 0.999999, "adam/adamw second-moment decay"),
      FloatParam("alpha", 0.99, 0, 0.999999, "rmsprop squared-gradient smoothing"),
      FloatParam("epsilon", 1e-8, 1e-12, 1, "adam/adamw/rmsprop denominator term"),
      ChoiceParam("schedule", "onecycle", {"constant", "step", "cosine", "onecycle"},
                  "learning-rate schedule over `epochs` epochs"),
      FloatParam("warmup_epochs", 0, 0, 1e4,
                 "constant/step/cosine: linear warm-up from 0; onecycle: length of the rise "
                 "(0 = the first 25% of training)"),
      FloatParam("step_epochs", 1, 1e-3, 1e6,
                 "step: multiply the rate by gamma every this many "
                 "epochs"),
      FloatParam("gamma", 0.1, 1e-6, 1, "step: the factor"),
      FloatParam("final_lr_fraction", 0, 0, 1,
                 "cosine: the final rate as a fraction of lr; onecycle: the same, where 0 means "
                 "lr / (div_factor * 1e4)"),
      FloatParam("div_factor", 25, 1, 1e6, "onecycle: the rate starts at lr / div_factor"),
      IntParam("epochs", 0, 0, 1e6,
               "epochs the schedule spans; 0 = as many as the training source makes (its "
               "`epochs` travels with the batches). Set it only for a source that does not "
               "say; when both say, they must agree"),
      InputFile(StringParam("resume", "",
                            "checkpoint to resume from: its weights, optimizer state and "
                            "position; the epochs it finished are streamed again but skipped, so "
                            "with the same graph and seed the result equals an uninterrupted run")),
      ChoiceParam("progress", "auto", {"auto", "off"},
                  "progress on stderr: in place on a terminal, a line per 10% otherwise"),
      // Callbacks: they watch the loss on the optional "validation" input, measured after
      // every epoch.
      IntParam("early_stopping_patience", 0, 0, 1e6,
               "stop training when the validation loss has not improved for this many epochs "
               "(0 = off; needs the validation input). The last snapshot records why"),
      FloatParam("early_stopping_min_delta", 0, 0, 1e6,
                 "an improvement must lower the best validation loss by more than this"),
      IntParam("reduce_lr_patience", 0, 0, 1e6,
               "multiply the learning rate by reduce_lr_factor when the validation loss has not "
               "improved for this many epochs (0 = off; needs the validation input)"),
      FloatParam("reduce_lr_factor", 0.5, 0.1, 1, "reduce-LR: the factor"),
      FloatParam("reduce_lr_min_delta", 0, 0, 1e6,
                 "reduce-LR: an improvement must lower the best validation loss by more than "
                 "this"),
      FloatParam("min_lr", 0, 0, 100,
                 "reduce-LR never takes the rate below this (the schedule's own decay may)"),
  };
}

proto::ModelSpec LoadModelSpec(const std::string& model, int classes) {
  if (model == "seed") return seed_network_spec(28, 28, 1, classes);
  std::ifstream file(model);
  if (!file) throw std::runtime_error("model file " + model + ": cannot be read");
  std::stringstream text;
  text << file.rdbuf();
  // Refused before protobuf parses: nesting that would overflow its stack, and names that are
  // not UTF-8 (they would make every checkpoint of the run unreadable).
  RequireProtoTextWithinLimits(text.str(), model);
  proto::ModelSpec spec;
  google::protobuf::TextFormat::Parser parser;
  FirstError error;
  parser.RecordErrorsTo(&error);
  if (!parser.ParseFromString(text.str(), &spec)) {
    throw std::runtime_error("model file " + model + ":" + error.text);
  }
  return spec;
}

TrainConfig ParseTrainConfig(const Params& params) {
  TrainConfig config;
  const std::string& model = params.get_string("model");
  config.model = LoadModelSpec(model, static_cast<int>(params.get_int("classes")));
  config.input_from_data =
      model == "seed" || !config.model.has_input() || config.model.input().rows() == 0;
  const std::string& precision = params.get_string("precision");
  config.precision_auto = precision == "auto";
  config.model.set_precision(precision == "bf16" ? proto::PRECISION_BF16 : proto::PRECISION_FP32);
  config.model.set_label_smoothing(static_cast<float>(params.get_float("label_smoothing")));
  if (!config.input_from_data) {
    try {
      resolve_model(config.model);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error("model file " + model + ": " + e.what());
    }
  }
  config.optimizer = BuildOptimizer(params);
  config.schedule = params.get_string("schedule");
  config.lr = params.get_float("lr");
  config.warmup_epochs = params.get_float("warmup_epochs");
  config.step_epochs = params.get_float("step_epochs");
  config.gamma = params.get_float("gamma");
  config.final_lr_fraction = params.get_float("final_lr_fraction");
  config.div_factor = params.get_float("div_factor");
  config.epochs = params.get_int("epochs");
  config.resume = params.get_string("resume");
  config.progress = params.get_string("progress");
  config.callbacks.early_stopping_patience = params.get_int("early_stopping_patience");
  config.callbacks.early_stopping_min_delta = params.get_float("early_stopping_min_delta");
  config.callbacks.reduce_lr_patience = params.get_int("reduce_lr_patience");
  config.callbacks.reduce_lr_factor = params.get_float("reduce_lr_factor");
  config.callbacks.reduce_lr_min_delta = params.get_float("reduce_lr_min_delta");
  config.callbacks.min_lr = params.get_float("min_lr");
  if (config.schedule == "onecycle" && config.final_lr_fraction * config.div_factor > 1) {
    throw std::invalid_argument(
        "onecycle: final_lr_fraction must not exceed 1 / div_factor (the starting rate)");
  }
  if (config.epochs > 0) CheckScheduleEpochs(config);
  return config;
}

std::string ResolveEpochs(TrainConfig& config, int64_t data_epochs) {
  if (config.epochs > 0 && data_epochs > 0 && config.epochs != data_epochs) {
    throw std::runtime_error(
        "cnn_train's epochs is " + std::to_string(config.epochs) +
        " but the training source makes " + std::to_string(data_epochs) +
        " passes (its `epochs`); leave cnn_train's epochs unset (0) to plan the schedule over "
        "the source's passes, or set both to the same value");
  }
  const bool from_data = config.epochs == 0;
  if (from_data) config.epochs = data_epochs;
  std::string note;
  if (from_data && config.schedule == "onecycle" &&
      config.warmup_epochs >= static_cast<double>(config.epochs) && config.epochs > 0) {
    char text[200];
    std::snprintf(text, sizeof(text),
                  "cnn_train: warmup_epochs %g is not shorter than the %lld epoch(s) the "
                  "source makes; onecycle rises over the first 25%% of them instead",
                  config.warmup_epochs, static_cast<long long>(config.epochs));
    note = text;
    config.warmup_epochs = 0;
  }
  const bool needs_epochs = config.schedule != "constant" || config.warmup_epochs > 0;
  if (config.epochs == 0 && needs_epochs) {
    throw std::runtime_error("schedule " + config.schedule +
                             " spans the planned epochs, but the training batches do not say "
                             "how many passes their source makes; set cnn_train's epochs");
  }
  if (config.epochs > 0) {
    try {
      CheckScheduleEpochs(config);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(std::string(e.what()) + " (" + std::to_string(config.epochs) +
                               " epochs)");
    }
  }
  return note;
}

void CheckScheduleEpochs(const TrainConfig& config) {
  if (config.schedule == "onecycle" && config.warmup_epochs >= static_cast<double>(config.epochs)) {
    throw std::invalid_argument("onecycle: warmup_epochs must be less than epochs");
  }
}

proto::ScheduleSpec BuildSchedule(const TrainConfig& config, int64_t steps_per_epoch) {
  const auto steps_for = [&](double epochs) {
    return static_cast<uint64_t>(std::llround(epochs * static_cast<double>(steps_per_epoch)));
  };
  const uint64_t total_steps = static_cast<uint64_t>(config.epochs * steps_per_epoch);
  proto::ScheduleSpec spec;
  spec.set_base_lr(static_cast<float>(config.lr));
  if (config.schedule == "onecycle") {
    proto::OneCycleSchedule* cycle = spec.mutable_one_cycle();
    cycle->set_total_steps(std::max<uint64_t>(total_steps, 2));
    if (config.warmup_epochs > 0) {
      cycle->set_pct_start(static_cast<float>(config.warmup_epochs / config.epochs));
    }
    cycle->set_div_factor(static_cast<float>(config.div_factor));
    if (config.final_lr_fraction > 0) {
      cycle->set_final_div_factor(
          static_cast<float>(1.0 / (config.final_lr_fraction * config.div_factor)));
    }
    return spec;
  }
  spec.set_warmup_steps(steps_for(config.warmup_epochs));
  if (config.schedule == "step") {
    spec.mutable_step()->set_step_size(std::max<uint64_t>(1, steps_for(config.step_epochs)));
    spec.mutable_step()->set_gamma(static_cast<float>(config.gamma));
  } else if (config.schedule == "cosine") {
    spec.mutable_cosine()->set_total_steps(std::max(total_steps, spec.warmup_steps() + 1));
    spec.mutable_cosine()->set_min_lr(static_cast<float>(config.lr * config.final_lr_fraction));
  } else {
    spec.mutable_constant();
  }
  return spec;
}

}  // namespace pipeline::cnn
