#include "shared/messages.h"

namespace sre {

// The one instantiation of the codec of each payload type (see messages.h).
#define SRE_INSTANTIATE_CODEC(T)                     \
  template Json ToJson<T>(const T&);                 \
  template Expected<T> FromJson<T>(const Json&);     \
  template Expected<T> Decode<T>(std::string_view);  \
  template std::string Encode<T>(const T&);
SRE_PAYLOAD_TYPES(SRE_INSTANTIATE_CODEC)
#undef SRE_INSTANTIATE_CODEC

}  // namespace sre
