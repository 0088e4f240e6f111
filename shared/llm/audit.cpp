#include "shared/llm/audit.h"

namespace sre::llm {

Json CallAudit::ToJson() const { return sre::ToJson(*this); }

}  // namespace sre::llm
