#pragma once
// A JSON-schema subset, enough to keep model output inside what the pipeline accepts: an enum
// value from its list, a confidence within [0, 1], a bounded string or array.
//
// Honoured keywords: type (object, array, string, number, integer, boolean, null; or a list of
// them), properties, required, additionalProperties (false, or a schema for the other
// properties), enum, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength
// (in characters), minItems, maxItems, items. Anything else (description, title, format, ...) is
// ignored, so one schema serves both as the model's instructions and as the check.
#include <string>

#include "shared/json_codec.h"

namespace sre::llm {

// Empty when `value` conforms to `schema`; otherwise the first problem with its path, e.g.
// "candidates[1].confidence: 1.7 is above the maximum 1". A null or empty schema accepts anything.
std::string ValidateAgainstSchema(const Json& value, const Json& schema);

}  // namespace sre::llm
