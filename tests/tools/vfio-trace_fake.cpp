// vfio-trace_fake - a program for vfio-trace's host tests: it issues VFIO and iommufd ioctl codes on plain files
// (the host has no /dev/vfio; the test maps the files to fd kinds with vfio-trace's hidden --assume-kind), so every
// ioctl fails (ENOTTY, EBADF), yet vfio-trace must decode each by its fd's kind, follow dup/dup2/fcntl/close, a
// thread and a forked child, deliver the program's signals, leave a group-stop stopped, and pass the exit status on.
//
//   vfio-trace_fake run DIR STATUS   ioctls on DIR/{container,device,group,iommu} (created, opened, unlinked), a
//                                     thread, a fork, SIGUSR1, a SIGSTOP/SIGCONT group-stop; exits STATUS
//   vfio-trace_fake kill DIR         as run, then kills itself with SIGTERM
//   vfio-trace_fake wait DIR         opens DIR/container (kept), prints "ready", waits for SIGUSR1, issues one
//                                     VFIO_IOMMU_MAP_DMA, prints "issued", waits for SIGUSR2, exits 0 (-p tests)
// What it did is printed on stdout as "fake: key=value" lines, for the test to compare with the trace.
#include <vfiopp/uapi/iommufd.hpp>
#include <vfiopp/uapi/vfio.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

namespace {
namespace uapi = vfiopp::uapi;

int open_kind(const std::string& dir, const char* name, bool unlink_it) {
    std::string path = dir + "/" + name;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        std::perror(path.c_str());
        std::exit(80);
    }
    // Unlinked: /proc/PID/fd then shows "... (deleted)", which no --assume-kind matches, so only the tracer's
    // following of open and dup can know what these fds are.
    if (unlink_it) ::unlink(path.c_str());
    return fd;
}

uapi::vfio_iommu_type1_dma_map map_dma() {
    uapi::vfio_iommu_type1_dma_map m{};
    m.argsz = sizeof m;
    m.flags = uapi::map_dma_flag::read | uapi::map_dma_flag::write;
    m.vaddr = 0x7f0000000000;
    m.iova = 0x100000;
    m.size = 0x200000;
    return m;
}

volatile sig_atomic_t usr1_seen = 0;

/// Waits (in a child) until `pid` is stopped, then continues it; returns through `pipe_w` whether it saw the stop.
void continue_when_stopped(pid_t pid, int pipe_w) {
    char seen = 'n';
    for (int i = 0; i < 400; ++i) {  // up to 4 s
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        std::getline(stat, line);
        auto p = line.rfind(')');
        // "T (stopped)", or "t (tracing stop)" for a group-stopped tracee the tracer keeps listening to
        if (p != std::string::npos && p + 2 < line.size() && (line[p + 2] == 'T' || line[p + 2] == 't')) {
            seen = 'y';
            break;
        }
        ::usleep(10000);
    }
    ::usleep(50000);  // stays stopped a while: a tracer that wrongly resumed it would have let it run past read()
    (void)!::write(pipe_w, &seen, 1);
    ::kill(pid, SIGCONT);
}

int run(const std::string& dir, int status, bool kill_self) {
    int container = open_kind(dir, "container", true);
    int device = open_kind(dir, "device", true);
    int group = open_kind(dir, "group", true);
    int iommu = open_kind(dir, "iommu", true);
    std::printf("fake: pid=%d container=%d device=%d group=%d iommu=%d\n", ::getpid(), container, device, group, iommu);

    // the same code, two fds, two ioctls
    auto m = map_dma();
    ::ioctl(container, uapi::vfio::iommu_map_dma.code, &m);
    struct {
        uapi::vfio_pci_hot_reset h;
        std::int32_t fds[1];
    } reset{{sizeof reset, 0, 1}, {group}};
    ::ioctl(device, uapi::vfio::device_pci_hot_reset.code, &reset);

    // by value, no argument, a string, a pointer to an fd
    int dup_fd = ::dup(container);
    ::ioctl(dup_fd, uapi::vfio::check_extension.code, 3);
    int high_fd = ::fcntl(container, F_DUPFD_CLOEXEC, 100);
    ::ioctl(high_fd, uapi::vfio::get_api_version.code, 0);
    ::ioctl(group, uapi::vfio::group_get_device_fd.code, "0000:00:03.0");
    ::ioctl(group, uapi::vfio::group_set_container.code, &container);
    ::dup2(device, 50);
    uapi::vfio_region_info ri{};
    ri.argsz = sizeof ri;
    ri.index = 7;
    ::ioctl(50, uapi::vfio::device_get_region_info.code, &ri);
    std::printf("fake: dup=%d fcntl=%d dup2=50\n", dup_fd, high_fd);

    // iommufd
    uapi::iommu_ioas_map im{};
    im.size = sizeof im;
    im.flags = uapi::ioas_map_flag::fixed_iova | uapi::ioas_map_flag::readable;
    im.ioas_id = 2;
    im.user_va = 0x7f0000200000;
    im.length = 0x1000;
    im.iova = 0xfee00000;
    ::ioctl(iommu, uapi::iommufd::ioas_map.code, &im);

    // errors: a closed fd (EBADF), a VFIO code on an eventfd (ENOTTY), an unreadable argument
    ::close(dup_fd);
    ::ioctl(dup_fd, uapi::vfio::iommu_map_dma.code, &m);
    int efd = ::eventfd(0, 0);
    ::ioctl(efd, uapi::vfio::iommu_map_dma.code, &m);
    ::ioctl(container, uapi::vfio::iommu_map_dma.code, reinterpret_cast<void*>(8));
    std::printf("fake: closed=%d eventfd=%d\n", dup_fd, efd);

    // a thread (shares the fd table)
    std::thread t([&] {
        std::printf("fake: thread=%ld\n", static_cast<long>(::syscall(SYS_gettid)));
        uapi::vfio_iommu_type1_dma_unmap u{};
        u.argsz = sizeof u;
        u.iova = 0x100000;
        u.size = 0x200000;
        ::ioctl(container, uapi::vfio::iommu_unmap_dma.code, &u);
    });
    t.join();

    // a child process (a copy of the fd table): closes its container, reopens nothing, resets the device
    std::fflush(stdout);
    pid_t child = ::fork();
    if (child == 0) {
        ::close(container);
        ::ioctl(device, uapi::vfio::device_reset.code, 0);
        ::_exit(0);
    }
    int st = 0;
    ::waitpid(child, &st, 0);
    std::printf("fake: child=%d status=%d\n", child, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    // the parent's container is still a container after the child closed its copy
    uapi::vfio_iommu_type1_info info{};
    info.argsz = sizeof info;
    ::ioctl(container, uapi::vfio::iommu_get_info.code, &info);

    // a signal with a handler: it must arrive
    struct sigaction sa{};
    sa.sa_handler = [](int) { usr1_seen = usr1_seen + 1; };
    ::sigaction(SIGUSR1, &sa, nullptr);
    ::raise(SIGUSR1);
    std::printf("fake: usr1=%d\n", static_cast<int>(usr1_seen));
    if (usr1_seen != 1) return 90;

    // a group-stop: a helper child sees us stopped, then continues us
    int p[2];
    if (::pipe(p) != 0) return 81;
    std::fflush(stdout);
    pid_t helper = ::fork();
    if (helper == 0) {
        continue_when_stopped(::getppid(), p[1]);
        ::_exit(0);
    }
    ::raise(SIGSTOP);
    char seen = '?';
    (void)!::read(p[0], &seen, 1);
    ::waitpid(helper, &st, 0);
    std::printf("fake: stopped=%c\n", seen);
    if (seen != 'y') return 91;

    std::fflush(stdout);
    if (kill_self) ::kill(::getpid(), SIGTERM);
    return status;
}

int wait_mode(const std::string& dir) {
    int container = open_kind(dir, "container", false);  // kept: an attaching tracer reads it from /proc
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    ::sigprocmask(SIG_BLOCK, &s, nullptr);
    std::printf("fake: ready pid=%d container=%d\n", ::getpid(), container);
    std::fflush(stdout);
    int sig = 0;
    ::sigwait(&s, &sig);  // blocked in a syscall when the tracer attaches
    auto m = map_dma();
    ::ioctl(container, uapi::vfio::iommu_map_dma.code, &m);
    std::printf("fake: issued sig=%d\n", sig);
    std::fflush(stdout);
    ::sigwait(&s, &sig);
    std::printf("fake: done sig=%d\n", sig);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "run" && argc == 4) return run(argv[2], std::atoi(argv[3]), false);
    if (mode == "kill" && argc == 3) return run(argv[2], 0, true);
    if (mode == "wait" && argc == 3) return wait_mode(argv[2]);
    std::fprintf(stderr, "usage: vfio-trace_fake run DIR STATUS | kill DIR | wait DIR\n");
    return 2;
}
