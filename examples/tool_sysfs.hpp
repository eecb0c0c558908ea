// examples/tool_sysfs.hpp - the small sysfs readers vfio-ls and vfio-bind share (both walk /sys/bus/pci and
// /sys/kernel/iommu_groups themselves: the tools take a --sysfs root for their fake-sysfs tests).
#pragma once

#include <vfiopp/sysfs.hpp>

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace tool_sysfs {

/// The first line of a sysfs attribute, trailing blanks dropped; "" when unreadable.
inline std::string read_text(const std::string& path) {
    std::ifstream f(path);
    std::string s;
    std::getline(f, s);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}
/// The last component of a symlink's target (a driver's or a group's name); "" when it is no link.
inline std::string link_name(const std::string& path) { return vfiopp::detail::read_link_name(path); }
/// A directory's entries without the dot files, sorted; empty when it cannot be read.
inline std::vector<std::string> list_dir(const std::string& path) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path.c_str())) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') out.emplace_back(e->d_name);
        ::closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}
/// Whether path exists.
inline bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

}  // namespace tool_sysfs
