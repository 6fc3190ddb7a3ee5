// The suite's own promise: every test process runs in a network namespace it created, whose
// only interface is an up loopback, so the packets it drops and the ports it uses stay inside.
#include <gtest/gtest.h>
#include <net/if.h>
#include <sys/stat.h>

#include <string>
#include <vector>

namespace edge::test {
namespace {

ino_t namespace_of(const std::string& pid) {
  struct stat st {};
  return ::stat(("/proc/" + pid + "/ns/net").c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(PrivateNetwork, EachTestProcessHasANetworkNamespaceWithOnlyLoopback) {
  EXPECT_NE(namespace_of("self"), 0u);
  EXPECT_NE(namespace_of("self"), namespace_of("1")) << "the test runs in init's network namespace";
  std::vector<std::string> interfaces;
  if (struct if_nameindex* list = ::if_nameindex()) {
    for (struct if_nameindex* i = list; i->if_index != 0; ++i) interfaces.emplace_back(i->if_name);
    ::if_freenameindex(list);
  }
  EXPECT_EQ(interfaces, std::vector<std::string>{"lo"});
}

}  // namespace
}  // namespace edge::test
