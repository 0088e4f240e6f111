#include "shared/ids.h"

#include <gtest/gtest.h>

#include <set>

#include "shared/json_codec.h"

namespace sre {
namespace {

TEST(IdsTest, NewUuidsAreVersion4AndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = NewUuid();
    ASSERT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '4');
    EXPECT_TRUE(std::string("89ab").find(id[19]) != std::string::npos) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(IdsTest, SeededGeneratorIsReproducible) {
  std::mt19937_64 a(7), b(7);
  EXPECT_EQ(UuidFromRng(a), UuidFromRng(b));
  EXPECT_EQ(UuidFromName("x"), UuidFromName("x"));
  EXPECT_NE(UuidFromName("x"), UuidFromName("y"));
  EXPECT_TRUE(IsUuid(UuidFromName("x")));
}

TEST(IdsTest, IncidentNumberIsFirstEightHexDigitsUpperCase) {
  EXPECT_EQ(IncidentNumber("3f2a9c1d-0000-4000-8000-000000000000"), "INC-3F2A9C1D");
}

}  // namespace
}  // namespace sre
