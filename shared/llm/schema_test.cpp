#include "shared/llm/schema.h"

#include <gtest/gtest.h>

#include <functional>

namespace sre::llm {
namespace {

// A schema like the RCA's: every string bounded, every number ranged, enums closed.
const Json kRca = Json::parse(R"({
  "type": "object",
  "required": ["category", "confidence", "summary", "candidates"],
  "additionalProperties": false,
  "properties": {
    "category": {"type": "string", "enum": ["DEPLOYMENT_REGRESSION", "RESOURCE_LEAK", "UNKNOWN"]},
    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    "summary": {"type": "string", "maxLength": 10, "minLength": 1},
    "rank": {"type": "integer", "minimum": 1},
    "flag": {"type": "boolean"},
    "service": {"type": ["string", "null"]},
    "candidates": {
      "type": "array", "minItems": 1, "maxItems": 2,
      "items": {"type": "object", "required": ["service"],
                "properties": {"service": {"type": "string", "maxLength": 5}}}
    },
    "labels": {"type": "object", "additionalProperties": {"type": "string"}}
  }
})");

Json Valid() {
  return Json::parse(
      R"({"category": "RESOURCE_LEAK", "confidence": 0.8, "summary": "leak", "candidates": [{"service": "api"}]})");
}

TEST(SchemaTest, Table) {
  struct Case {
    std::string name;
    std::function<void(Json&)> mutate;
    std::string want;  // substring of the error; "" = valid
  };
  const Case cases[] = {
      {"valid", [](Json&) {}, ""},
      {"optional fields present",
       [](Json& v) {
         v["rank"] = 2;
         v["flag"] = true;
         v["service"] = nullptr;
         v["labels"] = {{"a", "b"}};
       },
       ""},
      {"integer given as 2.0", [](Json& v) { v["rank"] = 2.0; }, ""},
      {"confidence exactly 1", [](Json& v) { v["confidence"] = 1; }, ""},
      {"summary of 10 multi-byte characters", [](Json& v) { v["summary"] = "éééééééééé"; }, ""},
      {"missing required", [](Json& v) { v.erase("confidence"); },
       "confidence: missing required field"},
      {"unknown enum value", [](Json& v) { v["category"] = "ALIENS"; },
       "category: \"ALIENS\" is not one of"},
      {"enum with wrong type", [](Json& v) { v["category"] = 3; }, "category: expected string"},
      {"confidence above 1", [](Json& v) { v["confidence"] = 1.7; },
       "confidence: 1.7 is above the maximum 1"},
      {"confidence below 0", [](Json& v) { v["confidence"] = -0.1; }, "below the minimum 0"},
      {"confidence as string", [](Json& v) { v["confidence"] = "0.9"; },
       "confidence: expected number, got a string"},
      {"bool is not a number", [](Json& v) { v["confidence"] = true; }, "expected number"},
      {"string too long", [](Json& v) { v["summary"] = "this is far too long"; },
       "summary: longer than 10 characters"},
      {"string too short", [](Json& v) { v["summary"] = ""; }, "summary: shorter than 1"},
      {"non-integral integer", [](Json& v) { v["rank"] = 1.5; }, "rank: expected integer"},
      {"integer below minimum", [](Json& v) { v["rank"] = 0; }, "rank: 0 is below the minimum 1"},
      {"boolean type", [](Json& v) { v["flag"] = "yes"; }, "flag: expected boolean"},
      {"type list", [](Json& v) { v["service"] = 5; }, "service: expected string or null"},
      {"additional property rejected", [](Json& v) { v["extra"] = 1; }, "extra: unexpected field"},
      {"additionalProperties schema",
       [](Json& v) {
         v["labels"] = {{"a", 1}};
       },
       "labels.a: expected string"},
      {"empty array", [](Json& v) { v["candidates"] = Json::array(); },
       "candidates: needs at least 1 items"},
      {"too many items",
       [](Json& v) {
         v["candidates"] =
             Json::array({{{"service", "a"}}, {{"service", "b"}}, {{"service", "c"}}});
       },
       "candidates: at most 2 items"},
      {"item missing field", [](Json& v) { v["candidates"][0] = Json::object(); },
       "candidates[0].service: missing required field"},
      {"item string too long", [](Json& v) { v["candidates"][0]["service"] = "checkout"; },
       "candidates[0].service: longer than 5"},
      {"array instead of object", [](Json& v) { v = Json::array(); },
       "(root): expected object, got an array"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Json v = Valid();
    c.mutate(v);
    std::string err = ValidateAgainstSchema(v, kRca);
    if (c.want.empty()) {
      EXPECT_EQ(err, "");
    } else {
      EXPECT_NE(err.find(c.want), std::string::npos) << err;
    }
  }
}

TEST(SchemaTest, EmptySchemaAcceptsAnything) {
  EXPECT_EQ(ValidateAgainstSchema(Json::parse(R"({"a": [1, "x"]})"), Json::object()), "");
  EXPECT_EQ(ValidateAgainstSchema(Json(42), Json()), "");
}

TEST(SchemaTest, ExclusiveBoundsAndIgnoredKeywords) {
  Json schema = {{"type", "number"},
                 {"exclusiveMinimum", 0},
                 {"exclusiveMaximum", 1},
                 {"description", "a probability"},
                 {"format", "whatever"}};
  EXPECT_EQ(ValidateAgainstSchema(Json(0.5), schema), "");
  EXPECT_NE(ValidateAgainstSchema(Json(0), schema), "");
  EXPECT_NE(ValidateAgainstSchema(Json(1), schema), "");
}

TEST(SchemaTest, EnumOfNumbers) {
  Json schema = {{"enum", {1, 2, 3}}};
  EXPECT_EQ(ValidateAgainstSchema(Json(2), schema), "");
  EXPECT_EQ(ValidateAgainstSchema(Json(2.0), schema), "");
  EXPECT_NE(ValidateAgainstSchema(Json(4), schema), "");
}

}  // namespace
}  // namespace sre::llm
