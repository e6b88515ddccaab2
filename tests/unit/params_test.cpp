// Parameter declarations and checks.
#include "pipeline/params.h"

#include <gtest/gtest.h>

namespace pipeline {
namespace {

TEST(ParamsTest, FloatDefaultsKeepSmallAndLargeValuesExactly) {
  EXPECT_EQ(FloatParam("eps", 1e-8, 0, 1, "").default_value, "1e-08");
  EXPECT_EQ(FloatParam("lr", 0.001, 0, 1, "").default_value, "0.001");
  EXPECT_EQ(FloatParam("mean", 0.1307, -1, 1, "").default_value, "0.1307");
  EXPECT_EQ(FloatParam("n", 128, 0, 1e6, "").default_value, "128");
  EXPECT_EQ(CheckParamValue(FloatParam("eps", 1e-8, 0, 1, ""), "1e-08"), "");
}

TEST(ParamsTest, ChecksTypesRangesAndChoices) {
  const ParamSpec size = IntParam("size", 128, 1, 65536, "");
  EXPECT_EQ(CheckParamValue(size, "64"), "");
  EXPECT_EQ(CheckParamValue(size, "0"), "value 0 is out of range [1, 65536]");
  EXPECT_EQ(CheckParamValue(size, "1.5"), "expects an integer, got \"1.5\"");
  EXPECT_EQ(CheckParamValue(BoolParam("on", true, ""), "maybe"),
            "expects true or false, got \"maybe\"");
  EXPECT_EQ(CheckParamValue(FloatParam("x", 0, 0, 1, ""), "nan"), "expects a number, got \"nan\"");
  EXPECT_EQ(CheckParamValue(ChoiceParam("p", "fp32", {"fp32", "bf16"}, ""), "fp16"),
            "value \"fp16\" is not one of: fp32, bf16");
}

TEST(ParamsTest, TypedGettersReadValidatedValues) {
  const Params params({{"size", "64"}, {"rate", "0.25"}, {"on", "yes"}, {"name", "x"}},
                      {{"size", true}});
  EXPECT_EQ(params.get_int("size"), 64);
  EXPECT_DOUBLE_EQ(params.get_float("rate"), 0.25);
  EXPECT_TRUE(params.get_bool("on"));
  EXPECT_EQ(params.get_string("name"), "x");
  EXPECT_TRUE(params.is_set("size"));
  EXPECT_FALSE(params.is_set("rate"));
  EXPECT_THROW(params.get_int("missing"), std::out_of_range);
}

}  // namespace
}  // namespace pipeline
