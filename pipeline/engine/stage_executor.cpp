#include "pipeline/engine/stage_executor.h"

#include <algorithm>
#include <exception>
#include <stdexcept>

namespace pipeline {
namespace {

int64_t DataCount(const std::vector<Envelope>& items) {
  return std::count_if(items.begin(), items.end(),
                       [](const Envelope& item) { return item.kind == EnvelopeKind::kData; });
}

int64_t NanosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              start)
      .count();
}

}  // namespace

void RunStatus::fail(const std::string& message) {
  std::lock_guard lock(mutex_);
  if (!failed_.load(std::memory_order_relaxed)) {
    error_ = message;
    failed_.store(true, std::memory_order_release);
    if (world_ != nullptr) world_->abort_job(world_->label() + message, 1);
  }
}

std::string RunStatus::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

// The Emitter a stage writes into during one engine call. It checks what the stage emits
// against its declaration and decides which ticket each output carries.
class StageExecutor::Collector : public Emitter {
 public:
  Collector(const StageInfo& info, bool is_source, std::vector<std::shared_ptr<Ticket>>* pending)
      : info_(info), is_source_(is_source), pending_(pending) {}

  void emit(std::shared_ptr<const Payload> payload, int64_t epoch, int64_t index,
            int port) override {
    if (port < 0 || port >= static_cast<int>(info_.outputs.size())) {
      throw std::logic_error("emitted on output port " + std::to_string(port) +
                             ", but the stage has " + std::to_string(info_.outputs.size()) +
                             " output port(s)");
    }
    if (!payload) throw std::logic_error("emitted an empty message");
    const PortSpec& spec = info_.outputs[port];
    if (spec.type != kAnyType && payload->type() != spec.type) {
      throw std::logic_error("emitted a \"" + std::string(payload->type()) + "\" on output \"" +
                             spec.name + "\", which is declared as \"" + spec.type + "\"");
    }
    items.push_back({EnvelopeKind::kData, port, epoch, index, std::move(payload), output_ticket()});
  }

  void end_epoch(int64_t epoch) override {
    if (!is_source_) {
      throw std::logic_error("only sources end epochs; the engine forwards them downstream");
    }
    items.push_back({EnvelopeKind::kEndOfEpoch, -1, epoch, 0, nullptr, output_ticket()});
  }

  // The ticket of the input being handled; outputs carry it unless the stage holds inputs.
  void set_input_ticket(std::shared_ptr<Ticket> ticket) { current_ = std::move(ticket); }

  void forward(const Envelope& envelope) { items.push_back(envelope); }

  std::vector<Envelope> items;

 private:
  // A stage that gathers inputs hands all their tickets to the output built from them.
  std::shared_ptr<Ticket> output_ticket() {
    if (pending_ != nullptr && !pending_->empty()) {
      current_ = pending_->size() == 1 ? pending_->front()
                                       : std::make_shared<Ticket>(std::move(*pending_));
      pending_->clear();
    }
    return current_;
  }

  const StageInfo& info_;
  bool is_source_;
  std::vector<std::shared_ptr<Ticket>>* pending_;
  std::shared_ptr<Ticket> current_;
};

StageExecutor::StageExecutor(const StageInstance& instance, std::unique_ptr<Stage> stage,
                             RunStatus& status, const std::vector<bool>& connected)
    : instance_(instance),
      stage_(std::move(stage)),
      status_(status),
      input_count_(static_cast<int>(instance.entry->info.inputs.size())),
      port_ended_(input_count_, false) {
  for (int port = 0; port < input_count_; ++port) {
    port_ended_[port] = port >= static_cast<int>(connected.size()) || !connected[port];
  }
}

bool StageExecutor::is_parallel() const {
  return instance_.entry->info.concurrency == Concurrency::kParallel;
}

int StageExecutor::held_inputs() const { return std::max(0, stage_->held_inputs()); }

std::string StageExecutor::context(const char* what) const {
  std::string text = "stage \"" + instance_.name + "\" (" + instance_.entry->info.name + ")";
  return what == nullptr ? text : text + ", " + what;
}

// Epochs are counted from 1, as the console's progress lines do; a sample is named by its 0-based
// position in the epoch's stream, as sources number their samples ("file#17").
std::string StageExecutor::sample_context(int64_t epoch, int64_t index) const {
  return context(nullptr) + ", epoch " + std::to_string(epoch + 1) + ", sample " +
         std::to_string(index);
}

void StageExecutor::start_clock(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(activity_mutex_);
  idle_since_ = now;
}

// A consumer is starved from the moment its last running call ended (or the graph started) until
// the input its next call handles became ready; the rest of the gap, until that call starts, is a
// wait for a worker thread, which is not the stage's input's fault.
void StageExecutor::call_started(std::chrono::steady_clock::time_point ready_at,
                                 std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(activity_mutex_);
  if (active_calls_++ == 0) {
    const auto starved = std::min(ready_at, now) - idle_since_;
    if (starved.count() > 0) {
      stats_.input_wait_ns.fetch_add(
          std::chrono::duration_cast<std::chrono::nanoseconds>(starved).count(),
          std::memory_order_relaxed);
    }
  }
}

void StageExecutor::call_ended(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(activity_mutex_);
  if (--active_calls_ == 0) idle_since_ = now;
}

bool StageExecutor::open(const StageEnv& env) {
  try {
    stage_->set_env(env);
    stage_->open(instance_.params);
    return true;
  } catch (const std::exception& e) {
    status_.fail(context("opening") + ": " + e.what());
  } catch (...) {
    status_.fail(context("opening") + ": unknown exception");
  }
  return false;
}

BundlePtr StageExecutor::produce(const std::function<std::shared_ptr<Ticket>()>& make_ticket,
                                 bool stop_requested) {
  if (stream_ended_) return nullptr;
  const auto start = std::chrono::steady_clock::now();
  auto bundle = std::make_shared<Bundle>();
  bundle->seq = next_seq_++;
  bundle->ticket = make_ticket();
  Collector out(instance_.entry->info, /*is_source=*/true, nullptr);
  out.set_input_ticket(bundle->ticket);
  bool more = false;
  if (!stop_requested && !finish_requested_.load() && !status_.failed()) {
    try {
      more = stage_->produce(out);
    } catch (const std::exception& e) {
      status_.fail(context(nullptr) + ": " + e.what());
    } catch (...) {
      status_.fail(context(nullptr) + ": unknown exception");
    }
  }
  if (!more) {
    stream_ended_ = true;
    // After a failure the run is cancelled: no end of stream, so no sink closes as if complete.
    if (!status_.failed()) {
      out.forward({EnvelopeKind::kEndOfStream, -1, 0, 0, nullptr, bundle->ticket});
    }
  }
  bundle->items = std::move(out.items);
  bundle->ready_at = std::chrono::steady_clock::now();
  stats_.calls.fetch_add(1, std::memory_order_relaxed);
  stats_.messages_out.fetch_add(DataCount(bundle->items), std::memory_order_relaxed);
  stats_.busy_ns.fetch_add(NanosSince(start), std::memory_order_relaxed);
  return bundle;
}

BundlePtr StageExecutor::consume(const Bundle& in, int port, int producer_port) {
  std::unique_lock lock(serial_mutex_, std::defer_lock);
  if (!is_parallel()) lock.lock();
  // Busy from here: a multi-input stage's wait for the lock is the other port's call.
  const auto start = std::chrono::steady_clock::now();
  call_started(in.ready_at, start);
  const bool holds = !is_parallel() && held_inputs() > 0;
  Collector out(instance_.entry->info, /*is_source=*/false, holds ? &pending_tickets_ : nullptr);
  int64_t received = 0;
  for (const Envelope& envelope : in.items) {
    if (status_.failed()) break;
    if (envelope.kind != EnvelopeKind::kData) {
      handle_control(envelope, port, out);
      continue;
    }
    if (envelope.port != producer_port) continue;
    ++received;
    out.set_input_ticket(envelope.ticket);
    if (holds) {
      pending_tickets_.push_back(envelope.ticket);
      // A stage holding more than it declared would starve its source: give the oldest back.
      if (static_cast<int>(pending_tickets_.size()) > held_inputs()) {
        pending_tickets_.erase(pending_tickets_.begin());
      }
    }
    try {
      stage_->process(Message{envelope.epoch, envelope.index, port, envelope.payload}, out);
    } catch (const std::exception& e) {
      status_.fail(sample_context(envelope.epoch, envelope.index) + ": " + e.what());
    } catch (...) {
      status_.fail(sample_context(envelope.epoch, envelope.index) + ": unknown exception");
    }
  }
  auto bundle = std::make_shared<Bundle>();
  bundle->seq = is_parallel() ? in.seq : next_seq_++;
  bundle->items = std::move(out.items);
  const auto end = std::chrono::steady_clock::now();
  bundle->ready_at = end;
  call_ended(end);
  stats_.calls.fetch_add(1, std::memory_order_relaxed);
  stats_.messages_in.fetch_add(received, std::memory_order_relaxed);
  stats_.messages_out.fetch_add(DataCount(bundle->items), std::memory_order_relaxed);
  stats_.busy_ns.fetch_add(
      std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count(),
      std::memory_order_relaxed);
  return bundle;
}

void StageExecutor::handle_control(const Envelope& envelope, int port, Collector& out) {
  if (is_parallel()) {
    out.forward(envelope);
    return;
  }
  out.set_input_ticket(envelope.ticket);
  if (envelope.kind == EnvelopeKind::kEndOfEpoch) {
    try {
      stage_->end_epoch(port, envelope.epoch, out);
    } catch (const std::exception& e) {
      const std::string what = "end of epoch " + std::to_string(envelope.epoch);
      status_.fail(context(what.c_str()) + ": " + e.what());
      return;
    }
    // With several inputs, epochs are those of the first input.
    if (port == 0) out.forward(envelope);
    return;
  }
  if (port_ended_[port]) return;
  port_ended_[port] = true;
  for (bool ended : port_ended_) {
    if (!ended) return;
  }
  try {
    stage_->close(out);
  } catch (const std::exception& e) {
    status_.fail(context("closing") + ": " + e.what());
    return;
  }
  pending_tickets_.clear();
  out.forward(envelope);
}

void StageExecutor::close_parallel() {
  Collector none(instance_.entry->info, /*is_source=*/false, nullptr);
  try {
    stage_->close(none);
    if (!none.items.empty()) throw std::logic_error("parallel stages cannot emit when closing");
  } catch (const std::exception& e) {
    status_.fail(context("closing") + ": " + e.what());
  }
}

}  // namespace pipeline
