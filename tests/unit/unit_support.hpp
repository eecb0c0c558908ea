// Helpers the unit tests share: fd accounting, a stand-in fd, and unwrapping results. Every test file that needs
// them includes this header (the tests are one executable; these are inline, in namespace unit_support).
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/unique_fd.hpp>

#include <catch2/catch_test_macros.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace unit_support {

/// Number of open fds of this process (the directory stream's own fd excluded).
inline int open_fds() {
    DIR* d = ::opendir("/proc/self/fd");
    REQUIRE(d != nullptr);
    int n = 0;
    while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    return n - 1;
}

/// Whether fd is an open file descriptor of this process.
inline bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

/// An eventfd, as a stand-in for a VFIO or iommufd fd behind a fake kernel.
inline vfiopp::unique_fd new_eventfd() {
    vfiopp::unique_fd f{::eventfd(0, EFD_CLOEXEC)};
    REQUIRE(f);
    return f;
}

/// The value of r; the test fails with the error otherwise.
template <typename T>
T must(vfiopp::result<T> r) {
    if (!r) FAIL("unexpected error: " << r.error());
    return std::move(*r);
}
inline void must(vfiopp::result<void> r) {
    if (!r) FAIL("unexpected error: " << r.error());
}

/// The value an error carries under name, if any.
inline std::optional<std::uint64_t> value_of(const vfiopp::error& e, std::string_view name) {
    for (const auto& v : e.values)
        if (v.name == name) return v.value;
    return std::nullopt;
}

}  // namespace unit_support
