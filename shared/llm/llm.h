#pragma once
// The LLM gateway in one include: Client (client.h), LlmConfig (config.h), CallAudit (audit.h),
// ValidateAgainstSchema (schema.h), ExtractJsonObject / Truncate / DelimitUntrusted (text.h).
#include "shared/llm/audit.h"
#include "shared/llm/client.h"
#include "shared/llm/config.h"
#include "shared/llm/schema.h"
#include "shared/llm/text.h"
