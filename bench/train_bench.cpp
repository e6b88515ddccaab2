// Training and inference throughput of the seed network (fp32 and bf16) next to Debian's PyTorch
// 1.13 on the same machine, and a quick MNIST accuracy run.
//
//   train_bench                       # throughput: ours, then bench/torch_reference.py, ratios
//   train_bench --accuracy            # train on MNIST, report test accuracy and wall time
//   train_bench --help
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "cpu_features.h"
#include "mnist_idx.h"
#include "model_file.h"
#include "nn/model.h"
#include "nn/model_spec.h"
#include "nn/openmp_policy.h"
#include "nn/random.h"
#include "nn/trainer.h"

namespace {

using pipeline::bench::Dataset;
using pipeline::cnn::Model;
using pipeline::cnn::StepResult;
using pipeline::cnn::Trainer;
namespace proto = pipeline::proto;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Options {
  bool accuracy = false;
  bool speed = true;
  bool torch = true;
  bool show_kernels = false;
  bool profile = false;
  bool passive = false;  // re-execute with OMP_WAIT_POLICY=passive unless set
  int batch = 128;
  int steps = 20;   // per timed repeat
  int repeats = 7;  // median over these
  int threads = 0;  // 0: OpenMP default
  // Accuracy recipe; the defaults are the recommended one (99.1-99.2% after 2 epochs,
  // 99.2-99.3% after 3-4, test set, seed network, no augmentation).
  int epochs = 3;
  int train_batch = 128;
  std::string optimizer = "adamw";
  double lr = 4e-3;
  std::string schedule = "onecycle";
  std::string precision = "fp32";
  double momentum = 0.9;
  double weight_decay = 0.05;
  double label_smoothing = 0.1;
  double dropout = 0;  // before the last layer
  uint64_t seed = 1;
  std::string model_file;  // a ModelSpec in text format; empty: the seed network
};

// Fills `o` from the command line; the exit code when the program should stop (--help, an error).
std::optional<int> parse(int argc, char** argv, Options& o) {
  using pipeline::bench::Defaulted;
  using pipeline::bench::IntAtLeast;
  using pipeline::bench::OneOf;
  namespace po = pipeline::bench::po;
  bool accuracy = false, both = false, no_torch = false;
  po::options_description throughput("throughput (the default)", pipeline::bench::kHelpColumns,
                                     pipeline::bench::kHelpDescriptionColumns);
  auto add_throughput = throughput.add_options();
  add_throughput("batch", IntAtLeast(&o.batch, 1, "batch"), "images per step");
  add_throughput("steps", IntAtLeast(&o.steps, 1, "steps"), "steps per timed repeat");
  add_throughput("repeats", IntAtLeast(&o.repeats, 1, "repeats"), "timed repeats (median)");
  add_throughput("threads", IntAtLeast(&o.threads, 0, "threads"),
                 "OpenMP threads (0: OpenMP's default)");
  add_throughput("model", po::value(&o.model_file),
                 "a ModelSpec in protobuf text format (e.g. models/fast.pbtxt) instead of the seed "
                 "network, for throughput and --accuracy");
  add_throughput("no-torch", po::bool_switch(&no_torch), "skip the PyTorch reference");
  add_throughput("show-kernels", po::bool_switch(&o.show_kernels),
                 "print the oneDNN kernels chosen");
  add_throughput("profile", po::bool_switch(&o.profile), "print a per-step timing table");
  add_throughput(
      "passive", po::bool_switch(&o.passive),
      "run (both this and PyTorch) with OMP_WAIT_POLICY=passive unless the environment sets a "
      "policy (see nn/openmp_policy.h)");
  po::options_description recipe("accuracy (--accuracy)", pipeline::bench::kHelpColumns,
                                 pipeline::bench::kHelpDescriptionColumns);
  auto add_recipe = recipe.add_options();
  add_recipe("accuracy", po::bool_switch(&accuracy),
             "train on MNIST and report test accuracy and wall time (instead of throughput)");
  add_recipe("both", po::bool_switch(&both), "throughput, then the accuracy run");
  add_recipe("epochs", IntAtLeast(&o.epochs, 1, "epochs"), "training epochs");
  add_recipe("train-batch", IntAtLeast(&o.train_batch, 1, "train-batch"), "training batch size");
  add_recipe("optimizer",
             OneOf(&o.optimizer, {"adamw", "adam", "sgd", "nesterov", "rmsprop"}, "optimizer"),
             "adamw|adam|sgd|nesterov|rmsprop");
  add_recipe("lr", po::value(&o.lr)->default_value(o.lr, "4e-3"), "base learning rate");
  add_recipe("schedule", OneOf(&o.schedule, {"onecycle", "cosine", "constant", "step"}, "schedule"),
             "onecycle|cosine|constant|step");
  add_recipe("precision", OneOf(&o.precision, {"fp32", "bf16"}, "precision"), "fp32|bf16");
  add_recipe("momentum", po::value(&o.momentum)->default_value(o.momentum, "0.9"),
             "momentum (sgd, nesterov)");
  add_recipe("weight-decay", po::value(&o.weight_decay)->default_value(o.weight_decay, "0.05"),
             "weight decay");
  add_recipe("label-smoothing",
             po::value(&o.label_smoothing)->default_value(o.label_smoothing, "0.1"),
             "label smoothing");
  add_recipe("dropout", po::value(&o.dropout)->default_value(o.dropout, "0"),
             "0: none; else the rate of a dropout layer before the last dense layer");
  add_recipe("seed", Defaulted(&o.seed), "seed of the weights and the shuffle");
  po::options_description options(pipeline::bench::kHelpColumns,
                                  pipeline::bench::kHelpDescriptionColumns);
  options.add(throughput).add(recipe);
  const std::optional<int> stop = pipeline::bench::ParseCommandLine(
      argc, argv, "train_bench",
      "train_bench [options]\n"
      "Seed-network training and inference images/s (fp32, bf16) next to Debian's PyTorch on the\n"
      "same cores, or (--accuracy) an MNIST training run reporting test accuracy and wall time.",
      options);
  o.torch = !no_torch;
  o.accuracy = accuracy || both;
  o.speed = !accuracy || both;
  return stop;
}

Dataset load_split(const std::string& split) {
  const std::string dir = PIPELINE_MNIST_DIR;
  return pipeline::bench::load_idx(dir + "/" + split + "-images-idx3-ubyte.gz",
                                   dir + "/" + split + "-labels-idx1-ubyte.gz", 0.1307f, 0.3081f);
}

// The network measured: --model's file, or the seed network; `precision` set.
proto::ModelSpec network_spec(const Options& o, const std::string& precision) {
  proto::ModelSpec spec = o.model_file.empty() ? pipeline::cnn::seed_network_spec()
                                               : pipeline::bench::ReadModelSpecFile(o.model_file);
  if (precision == "bf16") {
    spec.set_precision(proto::PRECISION_BF16);
  } else if (precision != "fp32") {
    throw std::invalid_argument("precision must be fp32 or bf16, got " + precision);
  }
  return spec;
}

// Median images/s over `repeats` timings of `steps` calls of `step`, after a warm-up.
double images_per_second(const std::function<void(int)>& step, int batch, int steps, int repeats) {
  for (int i = 0; i < 3; ++i) step(i);
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const double start = now_seconds();
    for (int i = 0; i < steps; ++i) step(i);
    rates.push_back(steps * batch / (now_seconds() - start));
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

struct Measured {
  double train_fp32 = 0, train_bf16 = 0, infer_fp32 = 0, infer_bf16 = 0;
};

Measured measure_ours(const Options& o, const Dataset& data) {
  Measured m;
  const int64_t batches = data.count / o.batch;
  const auto images = [&](int i) { return data.images.data() + (i % batches) * o.batch * 784; };
  const auto labels = [&](int i) { return data.labels.data() + (i % batches) * o.batch; };
  proto::OptimizerSpec sgd;  // what the PyTorch reference runs
  sgd.mutable_sgd()->set_momentum(0.9f);
  proto::ScheduleSpec constant;
  constant.set_base_lr(0.01f);
  for (const std::string precision : {"fp32", "bf16"}) {
    Model model(network_spec(o, precision), 1);
    Trainer trainer(model, sgd, constant);
    const double train = images_per_second(
        [&](int i) { trainer.step(images(i), labels(i), o.batch); }, o.batch, o.steps, o.repeats);
    std::vector<float> logits(o.batch * model.classes());
    const double infer =
        images_per_second([&](int i) { model.predict_logits(images(i), o.batch, logits.data()); },
                          o.batch, o.steps * 3, o.repeats);
    if (o.profile) {
      model.set_profiling(true);
      for (int i = 0; i < o.steps; ++i) trainer.step(images(i), labels(i), o.batch);
      std::printf("%s training profile, %d steps:\n%s", precision.c_str(), o.steps,
                  model.profile_report().c_str());
      model.reset_profile();
      for (int i = 0; i < o.steps; ++i) model.predict_logits(images(i), o.batch, logits.data());
      std::printf("%s inference profile, %d batches:\n%s", precision.c_str(), o.steps,
                  model.profile_report().c_str());
      model.set_profiling(false);
    }
    if (o.show_kernels) {
      std::printf("%s kernels (training):\n%s", precision.c_str(),
                  model.implementations(o.batch, true).c_str());
      std::printf("%s kernels (inference):\n%s", precision.c_str(),
                  model.implementations(o.batch, false).c_str());
    }
    (precision == "fp32" ? m.train_fp32 : m.train_bf16) = train;
    (precision == "fp32" ? m.infer_fp32 : m.infer_bf16) = infer;
    std::printf("ours  %-4s  train %8.0f img/s   inference %8.0f img/s\n", precision.c_str(), train,
                infer);
    std::fflush(stdout);
  }
  return m;
}

// Runs bench/torch_reference.py with Debian's python and reads its JSON lines.
Measured measure_torch(const Options& o, int threads) {
  Measured m;
  const std::string command =
      std::string("/usr/bin/python3 ") + PIPELINE_BENCH_DIR + "/torch_reference.py --batch " +
      std::to_string(o.batch) + " --steps " + std::to_string(std::max(5, o.steps / 2)) +
      " --repeats " + std::to_string(o.repeats) + " --threads " + std::to_string(threads) +
      " --modes train_fp32,infer_fp32,train_bf16,infer_bf16" +
      (o.model_file.empty() ? "" : " --model " + o.model_file);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  char line[512];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    const std::string text = line;
    const auto number = [&](const std::string& key) {
      const size_t at = text.find("\"" + key + "\": ");
      return at == std::string::npos ? 0.0 : std::atof(text.c_str() + at + key.size() + 4);
    };
    const bool train = text.find("\"mode\": \"train\"") != std::string::npos;
    const bool bf16 = text.find("\"precision\": \"bf16\"") != std::string::npos;
    const double rate = number("images_per_s");
    if (train && bf16) m.train_bf16 = rate;
    if (train && !bf16) m.train_fp32 = rate;
    if (!train && !bf16) m.infer_fp32 = rate;
    if (!train && bf16) m.infer_bf16 = rate;
    std::printf("torch %s", line);
  }
  if (pclose(pipe) != 0 || m.train_fp32 == 0) {
    throw std::runtime_error("the PyTorch reference failed: " + command);
  }
  return m;
}

void run_speed(const Options& o) {
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  const double flops = 3 * pipeline::cnn::forward_flops_per_image(
                               pipeline::cnn::resolve_model(network_spec(o, "fp32")));
  const auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "unset";
  };
  std::printf(
      "%s (%.1f MFLOP/image forward+backward), batch %d, %d thread(s), "
      "real MNIST training images; medians of %d repeats\n"
      "OMP_WAIT_POLICY=%s GOMP_SPINCOUNT=%s (the PyTorch reference runs under the same)\n",
      o.model_file.empty() ? "seed network" : o.model_file.c_str(), flops / 1e6, o.batch, threads,
      o.repeats, env("OMP_WAIT_POLICY"), env("GOMP_SPINCOUNT"));
  std::printf("CPU: %s\n%s\n", pipeline::bench::CpuName().c_str(),
              pipeline::bench::DescribeMatrixFeatures().c_str());
  const Dataset data = load_split("train");
  const Measured ours = measure_ours(o, data);
  if (!o.torch) return;
  const Measured torch = measure_torch(o, threads);
  std::printf("\n%-34s %12s %12s %8s\n", "", "ours img/s", "torch img/s", "ratio");
  const auto row = [](const char* what, double mine, double theirs) {
    std::printf("%-34s %12.0f %12.0f %7.1fx\n", what, mine, theirs, mine / theirs);
  };
  row("train fp32", ours.train_fp32, torch.train_fp32);
  row("train bf16 vs torch fp32", ours.train_bf16, torch.train_fp32);
  row("train bf16 vs torch bf16 autocast", ours.train_bf16, torch.train_bf16);
  row("inference fp32", ours.infer_fp32, torch.infer_fp32);
  row("inference bf16 vs torch fp32", ours.infer_bf16, torch.infer_fp32);
  row("inference bf16 vs torch bf16 autocast", ours.infer_bf16, torch.infer_bf16);
  // Each side at its best precision on this CPU: what a user of either gets.
  row("train, best of each", std::max(ours.train_fp32, ours.train_bf16),
      std::max(torch.train_fp32, torch.train_bf16));
  row("inference, best of each", std::max(ours.infer_fp32, ours.infer_bf16),
      std::max(torch.infer_fp32, torch.infer_bf16));
}

proto::OptimizerSpec optimizer_spec(const Options& o) {
  proto::OptimizerSpec spec;
  if (o.optimizer == "adam" || o.optimizer == "adamw") {
    proto::AdamSpec* adam = o.optimizer == "adam" ? spec.mutable_adam() : spec.mutable_adamw();
    adam->set_weight_decay(static_cast<float>(o.weight_decay));
  } else if (o.optimizer == "sgd" || o.optimizer == "nesterov") {
    spec.mutable_sgd()->set_momentum(static_cast<float>(o.momentum));
    spec.mutable_sgd()->set_nesterov(o.optimizer == "nesterov");
    spec.mutable_sgd()->set_weight_decay(static_cast<float>(o.weight_decay));
  } else if (o.optimizer == "rmsprop") {
    spec.mutable_rmsprop()->set_weight_decay(static_cast<float>(o.weight_decay));
  } else {
    throw std::invalid_argument("unknown optimizer " + o.optimizer);
  }
  return spec;
}

proto::ScheduleSpec schedule_spec(const Options& o, int64_t total_steps) {
  proto::ScheduleSpec spec;
  spec.set_base_lr(static_cast<float>(o.lr));
  if (o.schedule == "onecycle") {
    spec.mutable_one_cycle()->set_total_steps(total_steps);
  } else if (o.schedule == "cosine") {
    spec.set_warmup_steps(total_steps / 20);
    spec.mutable_cosine()->set_total_steps(total_steps);
  } else if (o.schedule == "step") {
    spec.mutable_step()->set_step_size(std::max<int64_t>(1, total_steps / o.epochs));
    spec.mutable_step()->set_gamma(0.3f);
  } else if (o.schedule == "constant") {
    spec.mutable_constant();
  } else {
    throw std::invalid_argument("unknown schedule " + o.schedule);
  }
  return spec;
}

void run_accuracy(const Options& o) {
  const Dataset train = load_split("train");
  const Dataset test = load_split("t10k");
  proto::ModelSpec spec = network_spec(o, o.precision);
  spec.set_label_smoothing(static_cast<float>(o.label_smoothing));
  if (o.dropout > 0) {
    proto::LayerSpec dropout;
    dropout.mutable_dropout()->set_rate(static_cast<float>(o.dropout));
    spec.mutable_layer()->Add(std::move(dropout));
    spec.mutable_layer()->SwapElements(spec.layer_size() - 1, spec.layer_size() - 2);
  }
  Model model(spec, o.seed);
  const int64_t steps_per_epoch = (train.count + o.train_batch - 1) / o.train_batch;
  Trainer trainer(model, optimizer_spec(o), schedule_spec(o, steps_per_epoch * o.epochs));
  std::printf(
      "accuracy run: %s, %s lr %g weight decay %g, %s schedule, batch %d, %d epochs, "
      "label smoothing %g, dropout %g, seed %llu\n",
      o.precision.c_str(), o.optimizer.c_str(), o.lr, o.weight_decay, o.schedule.c_str(),
      o.train_batch, o.epochs, o.label_smoothing, o.dropout,
      static_cast<unsigned long long>(o.seed));

  std::vector<int64_t> order(train.count);
  std::iota(order.begin(), order.end(), 0);
  std::vector<float> images(static_cast<size_t>(o.train_batch) * 784);
  std::vector<int32_t> labels(o.train_batch);
  pipeline::cnn::RandomStream shuffle(o.seed * 7919 + 13);
  double training_seconds = 0, evaluation_seconds = 0;
  const double start = now_seconds();
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    for (int64_t i = train.count - 1; i > 0; --i) {  // Fisher-Yates
      std::swap(order[i], order[shuffle.next() % (i + 1)]);
    }
    const double epoch_start = now_seconds();
    double loss_sum = 0;
    int64_t correct = 0;
    for (int64_t first = 0; first < train.count; first += o.train_batch) {
      const int64_t n = std::min<int64_t>(o.train_batch, train.count - first);
      for (int64_t k = 0; k < n; ++k) {
        const int64_t index = order[first + k];
        std::copy_n(train.images.data() + index * 784, 784, images.data() + k * 784);
        labels[k] = train.labels[index];
      }
      const StepResult step = trainer.step(images.data(), labels.data(), n);
      loss_sum += step.loss * n;
      correct += step.correct;
    }
    training_seconds += now_seconds() - epoch_start;
    const double eval_start = now_seconds();
    const StepResult result = model.evaluate(test.images.data(), test.labels.data(), test.count);
    evaluation_seconds += now_seconds() - eval_start;
    std::printf(
        "epoch %d: train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  "
        "(training %.1f s, evaluation %.1f s, wall %.1f s)\n",
        epoch, loss_sum / train.count, 100.0 * correct / train.count, result.loss,
        100.0 * result.correct / result.count, training_seconds, evaluation_seconds,
        now_seconds() - start);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const std::optional<int> stop = parse(argc, argv, options)) return *stop;
  try {
    // Both this process and the PyTorch reference it starts run under the re-executed policy.
    if (options.passive) pipeline::cnn::reexec_with_passive_openmp(argv);
    if (options.threads > 0) omp_set_num_threads(options.threads);
    if (options.speed) run_speed(options);
    if (options.accuracy) run_accuracy(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "train_bench: %s\n", error.what());
    return 1;
  }
  return 0;
}
