// VM tests of issue 10's device-level features (part of the vfiopp_vm_objects program; run with "[reset]"):
// PCI hot reset in the group and cdev forms (the two edu behind the testbed's PCI bridge), live update of DMA
// mappings to another process (type1 VFIO_UPDATE_VADDR, iommufd IOMMU_IOAS_CHANGE_PROCESS), ioeventfd, runtime
// low power, and dma-buf export of a BAR with peer-to-peer DMA through the IOMMU.
//
// Environment (tests/vm/README.md): VFIOPP_EDU*, VFIOPP_EDU_BRIDGED, VFIOPP_EDU_BRIDGED_GROUPS,
// VFIOPP_EDU_BRIDGED_CDEVS, VFIOPP_VM_KERNEL.
#include <vfiopp/container.hpp>
#include <vfiopp/device.hpp>
#include <vfiopp/device_features.hpp>
#include <vfiopp/fd_passing.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/group.hpp>
#include <vfiopp/hot_reset.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/live_update.hpp>

#include "objects_support.hpp"

#include <catch2/catch_test_macros.hpp>
#include <fmt/format.h>

#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace vfiopp;

namespace {
using namespace vmtest;

unsigned to_group(const std::string& s) { return static_cast<unsigned>(std::stoul(s)); }
bool kernel_is(const char* k) {
    const char* v = std::getenv("VFIOPP_VM_KERNEL");
    return v && std::string(v) == k;
}

// A shared memfd of n bytes, mapped: guest RAM that two processes can map.
struct shared_ram {
    unique_fd fd;
    std::uint8_t* p = nullptr;
    std::size_t n = 0;
    explicit shared_ram(std::size_t size) : fd(static_cast<int>(syscall(SYS_memfd_create, "ram", 0u))), n(size) {
        if (!fd || ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return;
        void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
        p = m == MAP_FAILED ? nullptr : static_cast<std::uint8_t*>(m);
    }
    shared_ram(const shared_ram&) = delete;
    shared_ram& operator=(const shared_ram&) = delete;
    ~shared_ram() {
        if (p) munmap(p, n);
    }
};

// Runs fn in a forked child; returns the child's exit status (fn's return value, 0 = success). The child writes
// its failure to stderr itself.
template <typename F>
int in_child(F&& fn) {
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) _exit(fn());
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return 200;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 201;
}
#define CHILD_CHECK(cond, code, ...)                                 \
    do {                                                             \
        if (!(cond)) {                                               \
            std::fprintf(stderr, "child: %s\n", fmt::format(__VA_ARGS__).c_str()); \
            return code;                                             \
        }                                                            \
    } while (0)

constexpr std::uint64_t ram_iova = 16 * MiB;  // below edu's 28-bit DMA mask
constexpr std::size_t page = 4096;

// The new owner's half of a handover: DMA its own bytes (page 2 of its mapping) into edu's buffer and back out
// to page 3, and the bytes the old owner left in edu's buffer to page 1; check both in its mapping.
int dma_in_new_owner(device& dev, std::uint8_t* ram) {
    auto bar = dev.region(pci_region_index::bar0);
    CHILD_CHECK(bar, 10, "region: {}", text(bar));
    auto r1 = edu_dma(*bar, edu_buffer, ram_iova + page, page, edu_cmd_to_ram);
    CHILD_CHECK(r1, 11, "edu DMA buffer -> RAM after the handover: {}", text(r1));
    for (std::size_t i = 0; i < page; ++i)
        CHILD_CHECK(ram[page + i] == static_cast<std::uint8_t>(i * 13 + 1), 12, "byte {} of page 1 is {:#x}", i, ram[page + i]);
    for (std::size_t i = 0; i < page; ++i) ram[2 * page + i] = static_cast<std::uint8_t>(i * 5 + 77);
    std::memset(ram + 3 * page, 0, page);
    auto r2 = edu_dma(*bar, ram_iova + 2 * page, edu_buffer, page, 0);
    auto r3 = r2 ? edu_dma(*bar, edu_buffer, ram_iova + 3 * page, page, edu_cmd_to_ram) : r2;
    CHILD_CHECK(r3, 13, "edu DMA new owner's RAM -> buffer -> RAM: {}", text(r3));
    CHILD_CHECK(std::memcmp(ram + 2 * page, ram + 3 * page, page) == 0, 14, "the round trip through edu changed the bytes");
    return 0;
}

}  // namespace

TEST_CASE("vm: reset hot reset info and the group form behind a PCI bridge", "[reset]") {
    auto edu = env_list("VFIOPP_EDU");
    auto groups = env_list("VFIOPP_EDU_GROUPS");
    auto br = env_list("VFIOPP_EDU_BRIDGED");
    auto br_groups = env_list("VFIOPP_EDU_BRIDGED_GROUPS");
    REQUIRE(edu.size() == 2);
    REQUIRE(br.size() == 2);
    REQUIRE(br_groups.size() == 2);
    INFO("bridged edu " << br[0] << " " << br[1] << ", groups " << br_groups[0] << " " << br_groups[1]);
    // VT-d puts the devices behind a conventional PCI bridge in one group with the bridge (their DMA alias)
    CHECK(br_groups[0] == br_groups[1]);

    auto c = container::open();
    REQUIRE_OK(c);
    std::vector<group> open_groups;
    for (auto& g : {br_groups[0], br_groups[1]}) {
        bool have = false;
        for (auto& og : open_groups) have = have || og.number() == to_group(g);
        if (have) continue;
        auto og = group::open(to_group(g));
        REQUIRE_OK(og);
        REQUIRE_OK(og->attach(*c));
        open_groups.push_back(std::move(*og));
    }
    auto a = open_groups[0].open_device(br[0]);
    REQUIRE_OK(a);

    auto info = hot_reset_info(*a);
    REQUIRE_OK(info);
    CHECK(!info->dev_id_form());
    CHECK(!info->all_owned());
    REQUIRE(info->devices.size() == 2);  // the bridge's secondary bus: both edu, not the bridge itself
    for (std::size_t i = 0; i < 2; ++i) {
        INFO("entry " << i << ": " << info->devices[i].address());
        CHECK(info->devices[i].address() == br[i]);
        CHECK(info->devices[i].group_id == to_group(br_groups[i]));
        CHECK(info->devices[i].ownership == reset_ownership::group);
    }
    auto needed = info->groups();
    CHECK(needed.size() == open_groups.size());

    // a root-bus edu: no slot, no bus reset
    {
        auto c2 = container::open();  // before its group: a group must go before its container
        REQUIRE_OK(c2);
        auto rg = group::open(to_group(groups[0]));
        REQUIRE_OK(rg);
        REQUIRE_OK(rg->attach(*c2));
        auto rd = rg->open_device(edu[0]);
        REQUIRE_OK(rd);
        auto ri = hot_reset_info(*rd);
        REQUIRE(!ri);
        CHECK(ri.error().code == ENODEV);
        CHECK(ri.error().ioctl == "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
        const int gfd[] = {rg->fd()};
        auto rr = hot_reset(*rd, gfd);
        REQUIRE(!rr);
        CHECK(rr.error().code == ENODEV);
        // the bridged edu's reset with the wrong group as proof: the kernel refuses (EINVAL)
        auto wrong = hot_reset(*a, gfd);
        REQUIRE(!wrong);
        CHECK(wrong.error().code == EINVAL);
        CHECK(wrong.error().ioctl == "VFIO_DEVICE_PCI_HOT_RESET");
    }
    // no group fd at all: refused before the ioctl
    auto none = hot_reset(*a, std::span<const int>{});
    REQUIRE(!none);
    CHECK(none.error().origin == error_origin::library);

    // the reset, with every affected group's fd; the device works afterwards (vfio-pci restores its config space)
    auto bar = a->region(pci_region_index::bar0);
    REQUIRE_OK(bar);
    REQUIRE_OK(bar->write<std::uint32_t>(edu_liveness, 0x12345678));
    std::vector<int> fds;
    for (auto& g : open_groups) fds.push_back(g.fd());
    REQUIRE_OK(hot_reset(*a, fds));
    auto id = bar->read<std::uint32_t>(edu_id);
    REQUIRE_OK(id);
    CHECK((*id & 0xffff) == 0x00ed);
    auto live = bar->read<std::uint32_t>(edu_liveness);
    REQUIRE_OK(live);
    // QEMU's edu has no reset handler: its registers survive the bus reset (measured on QEMU 10)
    CHECK(*live == ~0x12345678u);
    REQUIRE_OK(bar->write<std::uint32_t>(edu_liveness, 0x0f0f0f0f));
    CHECK(bar->read<std::uint32_t>(edu_liveness).value() == ~0x0f0f0f0fu);
    // the second device of the group, opened too: the same proof still suffices
    auto b = open_groups[0].open_device(br[1]);
    REQUIRE_OK(b);
    REQUIRE_OK(hot_reset(*b, fds));
}

TEST_CASE("vm: reset hot reset, cdev form (devid ownership)", "[reset]") {
    auto br_cdevs = env_list("VFIOPP_EDU_BRIDGED_CDEVS");
    if (br_cdevs.empty()) {
        REQUIRE(kernel_is("debian"));  // only Debian 6.1 has no VFIO cdev
        WARN("no VFIO cdev on this kernel (6.1): the devid form of hot reset needs 6.6+ with VFIO_DEVICE_CDEV");
        return;
    }
    auto br = env_list("VFIOPP_EDU_BRIDGED");
    REQUIRE(br_cdevs.size() == 2);
    auto ctx = iommufd::open();
    REQUIRE_OK(ctx);
    auto as = ctx->alloc_ioas();
    REQUIRE_OK(as);
    auto a = device::open_cdev(br_cdevs[0], {}, br[0]);
    REQUIRE_OK(a);
    auto ida = a->bind(*ctx);
    REQUIRE_OK(ida);
    REQUIRE_OK(a->attach(*as));

    // only A bound: B is in A's IOMMU group, which A's iommufd owns: DEVID_OWNED
    auto info = hot_reset_info(*a);
    REQUIRE_OK(info);
    CHECK(info->dev_id_form());
    CHECK(info->all_owned());
    CHECK(info->groups().empty());
    REQUIRE(info->devices.size() == 2);
    CHECK(info->devices[0].address() == br[0]);
    CHECK(info->devices[0].ownership == reset_ownership::devid);
    CHECK(info->devices[0].devid == *ida);
    CHECK(info->devices[1].address() == br[1]);
    CHECK(info->devices[1].ownership == reset_ownership::owned);
    CHECK(info->devices[1].owned());
    REQUIRE_OK(hot_reset(*a));

    // the group form on a cdev-opened device: the kernel takes only the zero-length array
    const int not_a_group[] = {a->fd()};
    auto g = hot_reset(*a, not_a_group);
    REQUIRE(!g);
    CHECK(g.error().code == EINVAL);

    // B bound too: both report their device IDs
    auto b = device::open_cdev(br_cdevs[1], {}, br[1]);
    REQUIRE_OK(b);
    auto idb = b->bind(*ctx);
    REQUIRE_OK(idb);
    REQUIRE_OK(b->attach(*as));
    auto info2 = hot_reset_info(*b);
    REQUIRE_OK(info2);
    REQUIRE(info2->devices.size() == 2);
    CHECK(info2->devices[0].devid == *ida);
    CHECK(info2->devices[1].devid == *idb);
    CHECK(info2->all_owned());
    REQUIRE_OK(hot_reset(*b));
    auto bar = b->region(pci_region_index::bar0);
    REQUIRE_OK(bar);
    CHECK((bar->read<std::uint32_t>(edu_id).value() & 0xffff) == 0x00ed);
}

TEST_CASE("vm: reset VFIO_UPDATE_VADDR hands a type1 mapping to another process", "[reset]") {
    auto edu = env_list("VFIOPP_EDU");
    auto groups = env_list("VFIOPP_EDU_GROUPS");
    REQUIRE(!edu.empty());
    auto c = container::open();
    REQUIRE_OK(c);
    auto g = group::open(to_group(groups[0]));
    REQUIRE_OK(g);
    REQUIRE_OK(g->attach(*c));
    REQUIRE(supports_update_vaddr(*c).value());
    auto dev = g->open_device(edu[0]);
    REQUIRE_OK(dev);
    REQUIRE_OK(enable_bus_master(*dev));
    auto bar = dev->region(pci_region_index::bar0);
    REQUIRE_OK(bar);

    shared_ram ram(4 * page);
    REQUIRE(ram.p);
    auto m = c->map(ram.p, ram_iova, ram.n);
    REQUIRE_OK(m);
    // the old owner leaves bytes in edu's buffer
    for (std::size_t i = 0; i < page; ++i) ram.p[i] = static_cast<std::uint8_t>(i * 13 + 1);
    REQUIRE_OK(edu_dma(*bar, ram_iova, edu_buffer, page, 0));

    // errors first: re-supplying a vaddr that is still valid, invalidating where nothing is mapped
    auto early = update_vaddr(*c, *m, ram.p);
    REQUIRE(!early);
    CHECK(early.error().code == EINVAL);
    auto nothing = invalidate_vaddr(*c, 0x1000000000ull, page);
    REQUIRE(!nothing);
    CHECK(nothing.error().code == ENOENT);

    // the handover: invalidate, give the mapping up, send container + device + memfd
    auto inv = invalidate_vaddr(*c, *m);
    REQUIRE_OK(inv);
    CHECK(*inv == ram.n);
    const auto released = m->release();  // the new owner unmaps it
    const std::uint64_t iova = released.first, size = released.second;
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    unique_fd old_end{sv[0]}, new_end{sv[1]};
    const int fds[] = {c->fd(), dev->fd(), ram.fd.get()};
    REQUIRE_OK(send_fds(old_end.get(), fds));

    int status = in_child([&]() -> int {
        std::array<std::byte, 8> payload{};
        auto got = receive_fds(new_end.get(), payload, 3);
        CHILD_CHECK(got && got->fds.size() == 3, 2, "receive_fds: {}", text(got));
        auto c2 = container::from_fd(std::move(got->fds[0]));
        CHILD_CHECK(c2, 3, "container::from_fd: {}", text(c2));
        auto d2 = device::from_fd(std::move(got->fds[1]), "edu (new owner)");
        CHILD_CHECK(d2, 4, "device::from_fd: {}", text(d2));
        // a new address for the same memory: the inherited mapping goes, a fresh one comes elsewhere
        void* fresh = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, got->fds[2].get(), 0);
        CHILD_CHECK(fresh != MAP_FAILED && fresh != ram.p, 5, "mmap of the memfd in the new owner");
        munmap(ram.p, ram.n);
        auto up = update_vaddr(*c2, iova, size, fresh);
        CHILD_CHECK(up, 6, "update_vaddr: {}", text(up));
        int rc = dma_in_new_owner(*d2, static_cast<std::uint8_t*>(fresh));
        if (rc == 0) {  // the new owner unmaps what it took over
            auto un = c2->unmap(iova, size);
            CHILD_CHECK(un && *un == size, 7, "unmap by the new owner: {}", text(un));
        }
        return rc;
    });
    CHECK(status == 0);
    // the new owner unmapped it: nothing is left in the container
    CHECK(c->unmap_all().value() == 0);
}

TEST_CASE("vm: reset IOMMU_IOAS_CHANGE_PROCESS hands file-backed mappings to another process", "[reset]") {
    auto cdevs = env_list("VFIOPP_EDU_CDEVS");
    auto edu = env_list("VFIOPP_EDU");
    if (cdevs.empty()) {
        REQUIRE(kernel_is("debian"));
        WARN("no iommufd on this kernel (6.1): IOMMU_IOAS_CHANGE_PROCESS needs 6.14+");
        return;
    }
    auto ctx = iommufd::open();
    REQUIRE_OK(ctx);
    auto as = ctx->alloc_ioas();
    REQUIRE_OK(as);
    auto dev = device::open_cdev(cdevs[0], {}, edu[0]);
    REQUIRE_OK(dev);
    REQUIRE_OK(dev->bind(*ctx));
    REQUIRE_OK(dev->attach(*as));
    REQUIRE_OK(enable_bus_master(*dev));
    auto bar = dev->region(pci_region_index::bar0);
    REQUIRE_OK(bar);

    shared_ram ram(4 * page);
    REQUIRE(ram.p);
    auto m = as->map_file(ram.fd.get(), 0, ram.n, dma_access::read_write, ram_iova);
    REQUIRE_OK(m);
    for (std::size_t i = 0; i < page; ++i) ram.p[i] = static_cast<std::uint8_t>(i * 13 + 1);
    REQUIRE_OK(edu_dma(*bar, ram_iova, edu_buffer, page, 0));

    // a user-VA mapping blocks it: only file-backed mappings can change process
    {
        page_buffer anon(page);
        auto um = as->map(anon.data(), page, dma_access::read_write, 32 * MiB);
        REQUIRE_OK(um);
        auto cp = change_process(*ctx);
        REQUIRE(!cp);
        CHECK(cp.error().code == EINVAL);
        CHECK(cp.error().ioctl == "IOMMU_IOAS_CHANGE_PROCESS");
    }
    REQUIRE_OK(change_process(*ctx));  // the same process again: allowed, a no-op

    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    unique_fd old_end{sv[0]}, new_end{sv[1]};
    const int fds[] = {ctx->fd(), dev->fd(), ram.fd.get()};
    REQUIRE_OK(send_fds(old_end.get(), fds));
    int status = in_child([&]() -> int {
        std::array<std::byte, 8> payload{};
        auto got = receive_fds(new_end.get(), payload, 3);
        CHILD_CHECK(got && got->fds.size() == 3, 2, "receive_fds: {}", text(got));
        auto ctx2 = iommufd::from_fd(std::move(got->fds[0]));
        CHILD_CHECK(ctx2, 3, "iommufd::from_fd: {}", text(ctx2));
        auto d2 = device::from_fd(std::move(got->fds[1]), "edu (new owner)");
        CHILD_CHECK(d2, 4, "device::from_fd: {}", text(d2));
        auto cp = change_process(*ctx2);
        CHILD_CHECK(cp, 5, "change_process: {}", text(cp));
        void* fresh = mmap(nullptr, ram.n, PROT_READ | PROT_WRITE, MAP_SHARED, got->fds[2].get(), 0);
        CHILD_CHECK(fresh != MAP_FAILED, 6, "mmap of the memfd in the new owner");
        munmap(ram.p, ram.n);
        return dma_in_new_owner(*d2, static_cast<std::uint8_t*>(fresh));
    });
    CHECK(status == 0);
    REQUIRE_OK(change_process(*ctx));  // and back
    CHECK(m->unmap().has_value());
}

TEST_CASE("vm: reset ioeventfd writes BAR0 when signalled and is removed on drop", "[reset]") {
    auto edu = env_list("VFIOPP_EDU");
    auto groups = env_list("VFIOPP_EDU_GROUPS");
    REQUIRE(!edu.empty());
    auto c = container::open();
    REQUIRE_OK(c);
    auto g = group::open(to_group(groups[0]));
    REQUIRE_OK(g);
    REQUIRE_OK(g->attach(*c));
    auto dev = g->open_device(edu[0]);
    REQUIRE_OK(dev);
    auto bar = dev->region(pci_region_index::bar0);
    REQUIRE_OK(bar);
    constexpr std::uint32_t data = 0x5a5a0f0f;
    footprint before = measure();
    {
        auto ev = ioeventfd::add<std::uint32_t>(*dev, *bar, edu_liveness, data);
        REQUIRE_OK(ev);
        CHECK(ev->active());
        CHECK(ev->offset() == bar->offset() + edu_liveness);
        auto dup = ioeventfd::add<std::uint32_t>(*dev, *bar, edu_liveness, data);
        REQUIRE(!dup);
        CHECK(dup.error().code == EEXIST);
        REQUIRE_OK(bar->write<std::uint32_t>(edu_liveness, 0));
        REQUIRE_OK(ev->signal());
        std::uint32_t live = 0;
        for (int i = 0; i < 2000 && live != ~data; ++i, usleep(1000)) live = bar->read<std::uint32_t>(edu_liveness).value();
        CHECK(live == ~data);  // edu's liveness register reads back the complement of what was written
        // outside the region: refused before the ioctl
        auto out = ioeventfd::add<std::uint32_t>(*dev, *bar, bar->size() - 2, 1);
        REQUIRE(!out);
        CHECK(out.error().origin == error_origin::library);
    }
    CHECK(measure() == before);  // the eventfd closed
    // dropped: the kernel no longer has it, so the same one can be added again, and removing it twice fails
    auto again = ioeventfd::add<std::uint32_t>(*dev, *bar, edu_liveness, data);
    REQUIRE_OK(again);
    REQUIRE_OK(again->remove());
    CHECK(!again->active());
    auto raw = wire::vfio::device_ioeventfd<std::uint32_t>(bar->offset() + edu_liveness, data, -1);
    REQUIRE_OK(raw);
    auto gone = io::submit(dev->fd(), *raw);
    REQUIRE(!gone);
    CHECK(gone.error().code == ENODEV);
}

TEST_CASE("vm: reset runtime low power entry and exit", "[reset]") {
    auto edu = env_list("VFIOPP_EDU");
    auto groups = env_list("VFIOPP_EDU_GROUPS");
    auto c = container::open();
    REQUIRE_OK(c);
    auto g = group::open(to_group(groups[1]));
    REQUIRE_OK(g);
    REQUIRE_OK(g->attach(*c));
    auto dev = g->open_device(edu[1]);
    REQUIRE_OK(dev);
    CHECK(feature_supported<wire::vfio::low_power_entry>(*dev).value());
    CHECK(feature_supported<wire::vfio::low_power_exit>(*dev).value());
    CHECK(!feature_supported<wire::vfio::pci_vf_token>(*dev).value());  // edu is no SR-IOV PF
    auto bar = dev->region(pci_region_index::bar0);
    REQUIRE_OK(bar);

    REQUIRE_OK(low_power_entry(*dev));
    // an access through the device fd wakes the device up (vfio-pci resumes it for the access)
    auto asleep = bar->read<std::uint32_t>(edu_id);
    REQUIRE_OK(asleep);
    CHECK((*asleep & 0xffff) == 0x00ed);
    REQUIRE_OK(low_power_exit(*dev));
    CHECK((bar->read<std::uint32_t>(edu_id).value() & 0xffff) == 0x00ed);
    REQUIRE_OK(low_power_exit(*dev));  // not in low power: a no-op

    unique_fd efd{eventfd(0, EFD_CLOEXEC)};
    REQUIRE(efd);
    REQUIRE_OK(low_power_entry(*dev, efd.get()));
    REQUIRE_OK(low_power_exit(*dev));
    auto bad = low_power_entry(*dev, -1);
    REQUIRE(!bad);
    CHECK(bad.error().origin == error_origin::library);

    std::array<std::uint8_t, 16> token{};
    auto vf = set_vf_token(*dev, token);
    REQUIRE(!vf);
    CHECK(vf.error().code == ENOTTY);  // edu is no SR-IOV PF
}

TEST_CASE("vm: reset dma-buf export of a BAR and peer-to-peer DMA through the IOMMU", "[reset]") {
    auto cdevs = env_list("VFIOPP_EDU_CDEVS");
    auto edu = env_list("VFIOPP_EDU");
    auto groups = env_list("VFIOPP_EDU_GROUPS");
    if (cdevs.empty()) {
        // Debian 6.1 predates the DMA_BUF feature (7.0): the kernel answers ENOTTY
        REQUIRE(kernel_is("debian"));
        auto c = container::open();
        REQUIRE_OK(c);
        auto g = group::open(to_group(groups[0]));
        REQUIRE_OK(g);
        REQUIRE_OK(g->attach(*c));
        auto dev = g->open_device(edu[0]);
        REQUIRE_OK(dev);
        CHECK(!feature_supported<uapi::vfio_device_feature_dma_buf>(*dev).value());
        auto buf = export_dma_buf(*dev, 0, 0, page);
        REQUIRE(!buf);
        CHECK(buf.error().code == ENOTTY);
        return;
    }
    REQUIRE(cdevs.size() == 2);
    auto ctx = iommufd::open();
    REQUIRE_OK(ctx);
    auto as = ctx->alloc_ioas();
    REQUIRE_OK(as);
    auto a = device::open_cdev(cdevs[0], {}, edu[0]);
    REQUIRE_OK(a);
    REQUIRE_OK(a->bind(*ctx));
    REQUIRE_OK(a->attach(*as));
    auto b = device::open_cdev(cdevs[1], {}, edu[1]);
    REQUIRE_OK(b);
    REQUIRE_OK(b->bind(*ctx));
    REQUIRE_OK(b->attach(*as));
    REQUIRE_OK(enable_bus_master(*a));
    auto bar_a = a->region(pci_region_index::bar0);
    REQUIRE_OK(bar_a);
    auto bar_b = b->region(pci_region_index::bar0);
    REQUIRE_OK(bar_b);

    auto supported = feature_supported<uapi::vfio_device_feature_dma_buf>(*b);
    REQUIRE_OK(supported);
    INFO("the iommufd kernel is built with CONFIG_VFIO_PCI_DMABUF (tests/vm/kernel-7.3.fragment)");
    REQUIRE(*supported);

    // refusals: not page-aligned (library), beyond the BAR, not a BAR
    auto odd = export_dma_buf(*b, 0, 0, 100);
    REQUIRE(!odd);
    CHECK(odd.error().origin == error_origin::library);
    auto past = export_dma_buf(*b, 0, bar_b->size(), page);
    REQUIRE(!past);
    CHECK(past.error().origin == error_origin::kernel);
    auto cfg = export_dma_buf(*b, 7, 0, page);  // the config region
    REQUIRE(!cfg);
    CHECK(cfg.error().code == ENODEV);

    auto buf = export_dma_buf(*b, 0, 0, page);
    REQUIRE_OK(buf);
    constexpr std::uint64_t p2p_iova = 8 * MiB;
    auto p2p = as->map_file(buf->get(), 0, page, dma_access::read_write, p2p_iova);
    REQUIRE_OK(p2p);

    // edu A: RAM -> its buffer -> edu B's BAR0 liveness register, through the IOMMU
    page_buffer ram(page);
    REQUIRE(ram.data());
    auto rm = as->map(ram.data(), page, dma_access::read_write, ram_iova);
    REQUIRE_OK(rm);
    constexpr std::uint32_t value = 0x600dcafe;
    std::memcpy(ram.data(), &value, sizeof value);
    REQUIRE_OK(bar_b->write<std::uint32_t>(edu_liveness, 0));
    REQUIRE_OK(edu_dma(*bar_a, ram_iova, edu_buffer, 4, 0));
    REQUIRE_OK(edu_dma(*bar_a, edu_buffer, p2p_iova + edu_liveness, 4, edu_cmd_to_ram));
    auto live = bar_b->read<std::uint32_t>(edu_liveness);
    REQUIRE_OK(live);
    CHECK(*live == ~value);  // edu B's liveness register: the complement of what edu A wrote into it
}
