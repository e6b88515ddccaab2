#include "pipeline/params.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

namespace pipeline {
namespace {

// Shortest text that reads back as the same double ("0.001", "1e-08", "128").
std::string FormatNumber(double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[64];
  const auto result = std::to_chars(text, text + sizeof(text), value);
  return std::string(text, result.ptr);
}

bool ParseInt(const std::string& text, int64_t& value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty();
}

bool ParseFloat(const std::string& text, double& value) {
  if (text.empty()) return false;
  size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size() && std::isfinite(value);
}

bool ParseBool(const std::string& text, bool& value) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") {
    value = true;
    return true;
  }
  if (text == "false" || text == "0" || text == "no" || text == "off") {
    value = false;
    return true;
  }
  return false;
}

std::string RangeText(const ParamSpec& spec) {
  return "[" + FormatNumber(spec.min) + ", " + FormatNumber(spec.max) + "]";
}

}  // namespace

std::string_view to_string(ParamType type) {
  switch (type) {
    case ParamType::kInt:
      return "int";
    case ParamType::kFloat:
      return "float";
    case ParamType::kBool:
      return "bool";
    case ParamType::kString:
      return "string";
    case ParamType::kChoice:
      return "choice";
  }
  return "?";
}

namespace {

ParamSpec MakeSpec(std::string name, ParamType type, std::string default_value, std::string doc) {
  ParamSpec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.default_value = std::move(default_value);
  spec.doc = std::move(doc);
  return spec;
}

}  // namespace

ParamSpec IntParam(std::string name, int64_t default_value, double min, double max,
                   std::string doc) {
  ParamSpec spec =
      MakeSpec(std::move(name), ParamType::kInt, std::to_string(default_value), std::move(doc));
  spec.min = min;
  spec.max = max;
  return spec;
}

ParamSpec FloatParam(std::string name, double default_value, double min, double max,
                     std::string doc) {
  ParamSpec spec =
      MakeSpec(std::move(name), ParamType::kFloat, FormatNumber(default_value), std::move(doc));
  spec.min = min;
  spec.max = max;
  return spec;
}

ParamSpec FloatOrKeywordParam(std::string name, std::string keyword, double min, double max,
                              std::string doc) {
  ParamSpec spec = MakeSpec(std::move(name), ParamType::kFloat, keyword, std::move(doc));
  spec.min = min;
  spec.max = max;
  spec.choices = {std::move(keyword)};
  return spec;
}

ParamSpec BoolParam(std::string name, bool default_value, std::string doc) {
  return MakeSpec(std::move(name), ParamType::kBool, default_value ? "true" : "false",
                  std::move(doc));
}

ParamSpec StringParam(std::string name, std::string default_value, std::string doc) {
  return MakeSpec(std::move(name), ParamType::kString, std::move(default_value), std::move(doc));
}

ParamSpec RequiredStringParam(std::string name, std::string doc) {
  ParamSpec spec = MakeSpec(std::move(name), ParamType::kString, "", std::move(doc));
  spec.required = true;
  return spec;
}

ParamSpec ChoiceParam(std::string name, std::string default_value, std::vector<std::string> choices,
                      std::string doc) {
  ParamSpec spec =
      MakeSpec(std::move(name), ParamType::kChoice, std::move(default_value), std::move(doc));
  spec.choices = std::move(choices);
  return spec;
}

std::string CheckParamValue(const ParamSpec& spec, const std::string& text) {
  const bool numeric = spec.type == ParamType::kInt || spec.type == ParamType::kFloat;
  if (numeric && std::find(spec.choices.begin(), spec.choices.end(), text) != spec.choices.end()) {
    return "";
  }
  switch (spec.type) {
    case ParamType::kInt: {
      int64_t value = 0;
      if (!ParseInt(text, value)) return "expects an integer, got \"" + text + "\"";
      if (value < spec.min || value > spec.max) {
        return "value " + text + " is out of range " + RangeText(spec);
      }
      return "";
    }
    case ParamType::kFloat: {
      double value = 0;
      if (!ParseFloat(text, value)) {
        return "expects a number" + (spec.choices.empty() ? "" : " or " + spec.choices[0]) +
               ", got \"" + text + "\"";
      }
      if (value < spec.min || value > spec.max) {
        return "value " + text + " is out of range " + RangeText(spec);
      }
      return "";
    }
    case ParamType::kBool: {
      bool value = false;
      if (!ParseBool(text, value)) return "expects true or false, got \"" + text + "\"";
      return "";
    }
    case ParamType::kChoice: {
      if (std::find(spec.choices.begin(), spec.choices.end(), text) != spec.choices.end()) {
        return "";
      }
      std::string allowed;
      for (const auto& choice : spec.choices) allowed += (allowed.empty() ? "" : ", ") + choice;
      return "value \"" + text + "\" is not one of: " + allowed;
    }
    case ParamType::kString:
      if (spec.required && text.empty()) return "must not be empty";
      return "";
  }
  return "unknown parameter type";
}

Params::Params(std::map<std::string, std::string, std::less<>> values,
               std::map<std::string, bool, std::less<>> explicitly_set)
    : values_(std::move(values)), explicitly_set_(std::move(explicitly_set)) {}

const std::string& Params::raw(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    throw std::out_of_range("parameter \"" + std::string(name) + "\" was not declared");
  }
  return it->second;
}

int64_t Params::get_int(std::string_view name) const {
  int64_t value = 0;
  if (!ParseInt(raw(name), value)) {
    throw std::invalid_argument("parameter \"" + std::string(name) + "\" is not an integer");
  }
  return value;
}

double Params::get_float(std::string_view name) const {
  double value = 0;
  if (!ParseFloat(raw(name), value)) {
    throw std::invalid_argument("parameter \"" + std::string(name) + "\" is not a number");
  }
  return value;
}

bool Params::get_bool(std::string_view name) const {
  bool value = false;
  if (!ParseBool(raw(name), value)) {
    throw std::invalid_argument("parameter \"" + std::string(name) + "\" is not a bool");
  }
  return value;
}

const std::string& Params::get_string(std::string_view name) const { return raw(name); }

bool Params::is_set(std::string_view name) const {
  auto it = explicitly_set_.find(name);
  return it != explicitly_set_.end() && it->second;
}

}  // namespace pipeline
