// Which answered addresses are never connected to, and which are this process's own listeners.
#include "discovery/target_filter.h"

#include <gtest/gtest.h>

#include <ostream>

namespace edge::discovery {
namespace {

net::Endpoint ep(const char* address, uint16_t port) {
  return {asio::ip::make_address(address), port};
}

struct UsableCase {
  const char* address;
  uint16_t port;
  bool usable;
  const char* name;
};
void PrintTo(const UsableCase& c, std::ostream* os) {
  *os << c.address << " port " << c.port;
}

class Usable : public ::testing::TestWithParam<UsableCase> {};

TEST_P(Usable, AsTheTableSays) {
  const auto& c = GetParam();
  const auto reason = unusableReason(ep(c.address, c.port));
  EXPECT_EQ(!reason.has_value(), c.usable) << (reason ? *reason : "usable");
}

INSTANTIATE_TEST_SUITE_P(
    TargetFilter, Usable,
    ::testing::Values(UsableCase{"10.0.1.12", 2222, true, "private_v4"},
                      UsableCase{"127.0.0.1", 80, true, "loopback_v4_sidecars_are_allowed"},
                      UsableCase{"::1", 80, true, "loopback_v6"},
                      UsableCase{"2001:db8::1", 80, true, "global_v6"},
                      UsableCase{"::ffff:10.0.0.1", 80, true, "mapped_private"},
                      UsableCase{"10.0.1.12", 0, false, "port_zero"},
                      UsableCase{"0.0.0.0", 80, false, "unspecified_v4"},
                      UsableCase{"0.1.2.3", 80, false, "this_network_v4"},
                      UsableCase{"::", 80, false, "unspecified_v6"},
                      UsableCase{"::ffff:0.0.0.0", 80, false, "mapped_unspecified"},
                      UsableCase{"255.255.255.255", 80, false, "broadcast"},
                      UsableCase{"::ffff:255.255.255.255", 80, false, "mapped_broadcast"},
                      UsableCase{"224.0.0.1", 80, false, "multicast_v4"},
                      UsableCase{"239.255.255.250", 80, false, "multicast_v4_ssdp"},
                      UsableCase{"ff02::1", 80, false, "multicast_v6"},
                      UsableCase{"::ffff:224.0.0.1", 80, false, "mapped_multicast"},
                      UsableCase{"fe80::1", 80, false, "link_local_v6_without_scope"},
                      UsableCase{"febf::1", 80, false, "link_local_v6_top"},
                      UsableCase{"169.254.169.254", 80, false, "cloud_metadata"},
                      UsableCase{"169.254.170.2", 80, false, "ecs_task_metadata"},
                      UsableCase{"::ffff:169.254.169.254", 80, false, "mapped_metadata"},
                      UsableCase{"169.253.255.255", 80, true, "just_below_link_local"},
                      UsableCase{"1.0.0.0", 80, true, "just_above_this_network"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

struct OwnCase {
  const char* listener;
  const char* target;
  uint16_t target_port;
  bool own;
  const char* name;
};
void PrintTo(const OwnCase& c, std::ostream* os) {
  *os << "listener " << c.listener << ":8000, target " << c.target << ":" << c.target_port;
}

class OwnListener : public ::testing::TestWithParam<OwnCase> {};

TEST_P(OwnListener, AsTheTableSays) {
  const auto& c = GetParam();
  const std::vector<asio::ip::address> local = {asio::ip::make_address("10.0.0.5"),
                                                asio::ip::make_address("2001:db8::5")};
  EXPECT_EQ(isOwnListener(ep(c.target, c.target_port), {ep(c.listener, 8000)}, local), c.own);
}

INSTANTIATE_TEST_SUITE_P(
    TargetFilter, OwnListener,
    ::testing::Values(OwnCase{"127.0.0.1", "127.0.0.1", 8000, true, "same_address_and_port"},
                      OwnCase{"127.0.0.1", "127.0.0.1", 8001, false, "other_port"},
                      OwnCase{"127.0.0.1", "127.0.0.2", 8000, false, "other_loopback_address"},
                      OwnCase{"127.0.0.1", "::ffff:127.0.0.1", 8000, true, "mapped_form"},
                      OwnCase{"10.0.0.5", "10.0.0.5", 8000, true, "specific_interface"},
                      OwnCase{"10.0.0.5", "127.0.0.1", 8000, false,
                              "specific_listener_loopback_target"},
                      OwnCase{"0.0.0.0", "127.0.0.1", 8000, true, "wildcard_v4_loopback"},
                      OwnCase{"0.0.0.0", "127.9.9.9", 8000, true, "wildcard_v4_loopback_range"},
                      OwnCase{"0.0.0.0", "10.0.0.5", 8000, true, "wildcard_v4_interface"},
                      OwnCase{"0.0.0.0", "10.0.0.6", 8000, false, "wildcard_v4_other_host"},
                      OwnCase{"0.0.0.0", "::1", 8000, false, "wildcard_v4_takes_no_v6"},
                      OwnCase{"::", "::1", 8000, true, "dual_stack_v6_loopback"},
                      OwnCase{"::", "127.0.0.1", 8000, true, "dual_stack_v4_loopback"},
                      OwnCase{"::", "2001:db8::5", 8000, true, "dual_stack_v6_interface"},
                      OwnCase{"::", "10.0.0.5", 8000, true, "dual_stack_v4_interface"},
                      OwnCase{"::", "10.0.0.5", 9000, false, "dual_stack_other_port"},
                      OwnCase{"::", "2001:db8::6", 8000, false, "dual_stack_other_host"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(TargetFilter, LocalInterfaceAddressesIncludeLoopback) {
  const auto local = localInterfaceAddresses();
  EXPECT_NE(std::find(local.begin(), local.end(), asio::ip::make_address("127.0.0.1")),
            local.end());
}

}  // namespace
}  // namespace edge::discovery
