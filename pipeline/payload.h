// Everything that travels between stages derives from Payload.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pipeline {

// Type identity is a stable string (the port type id, e.g. "sample"), never typeid: a payload
// built inside a plugin library must be recognised by the engine and by other libraries.
class Payload {
 public:
  virtual ~Payload() = default;
  virtual std::string_view type() const = 0;
};

// Returns the payload as T when its type id is T::kType, otherwise nullptr.
template <typename T>
const T* payload_cast(const Payload* payload) {
  if (payload == nullptr || payload->type() != T::kType) return nullptr;
  return static_cast<const T*>(payload);
}

// Like payload_cast but throws a message naming both types; the engine adds stage and sample.
template <typename T>
const T& payload_as(const Payload* payload) {
  if (const T* typed = payload_cast<T>(payload)) return *typed;
  throw std::runtime_error("expected a \"" + std::string(T::kType) + "\" message, got " +
                           (payload ? "\"" + std::string(payload->type()) + "\"" : "none"));
}

}  // namespace pipeline
