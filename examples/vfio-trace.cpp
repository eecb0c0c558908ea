// vfio-trace - decodes every VFIO and iommufd ioctl a program issues, live, with ptrace.
//
//   vfio-trace -- qemu-system-x86_64 ... -device vfio-pci,host=0000:00:03.0     # run a command traced
//   vfio-trace -p $(pidof qemu-system-x86_64) --json -o trace.jsonl --summary     # attach to a running VMM
//
// strace cannot decode these ioctls: VFIO's codes are reused across fds (0x3b71 is VFIO_IOMMU_MAP_DMA on a container
// and VFIO_DEVICE_PCI_HOT_RESET on a device) and, being _IO(';', nr), carry no argument size. vfio-trace follows what every fd is
// (examples/vfio-trace/fds.hpp), resolves each code by its fd's kind with the registry
// (uapi::find_ioctl(code, kind, abi_kind::mainline)), reads the argument image from the tracee at syscall entry
// (argsz/size, the struct's first u32, says how much) and again at exit, and prints the typed request and the
// kernel's reply (examples/vfio-trace/render.hpp): capability chains, trailers, errno by name, returned values and fds.
//
// Tracing: PTRACE_SEIZE of every thread (QEMU is multi-threaded) with TRACESYSGOOD and TRACECLONE/FORK/VFORK/EXEC,
// so threads and children are followed from their first instruction; syscall-entry/exit stops read with
// PTRACE_GET_SYSCALL_INFO (Linux 5.3), which says which of the two a stop is, even for a thread attached inside a
// call. A traced program behaves as untraced: every signal is delivered on restart except the tracer's own syscall
// stops, group-stops are left stopped with PTRACE_LISTEN, and in -p mode SIGINT/SIGTERM/SIGHUP detach every thread
// (interrupted, then released with any signal it was about to get) and vfio-trace exits 0.
#include "vfio-trace/capture.hpp"
#include "vfio-trace/fds.hpp"
#include "vfio-trace/memory.hpp"
#include "vfio-trace/output.hpp"
#include "vfio-trace/render.hpp"

#include <vfiopp/uapi/registry.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vt = vfio_trace;
namespace uapi = vfiopp::uapi;

namespace {

// Exit statuses of vfio-trace itself; otherwise it exits with the traced program's status.
constexpr int exit_usage = 2;           // bad command line
constexpr int exit_tracer_error = 125;  // cannot trace: attach refused, fork failed, -o not writable
// 126 / 127: the command could not be executed / was not found (the traced child exits with them, as a shell would)

constexpr long trace_options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
                               PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC;

struct options {
    pid_t pid = 0;
    std::vector<std::string> command;
    bool json = false;
    bool summary = false;
    std::string output;
    vt::assumptions assume;
};

/// A syscall between its entry and exit stops: only the ones that change an fd table or are ioctls are kept.
struct pending_call {
    std::uint64_t nr = 0;
    std::array<std::uint64_t, 6> args{};
    std::string path;                      // open*: the path as passed
    std::optional<vt::record> ioctl;       // ioctl: what entry captured
    std::vector<std::byte> in_image;       // ioctl: the argument image at entry
};

struct thread {
    pid_t tid = 0;
    pid_t tgid = 0;
    std::shared_ptr<vt::fd_table> fds;  // shared by the threads of a process (CLONE_FILES)
    std::optional<pending_call> call;
};

/// One JSON line; bytes that are not UTF-8 (a device name is whatever the program passed) become U+FFFD instead of
/// an exception.
std::string dump(const vt::json& j) { return j.dump(-1, ' ', false, vt::json::error_handler_t::replace); }

bool is_stop_signal(int sig) { return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

class tracer {
public:
    tracer(options o, std::FILE* out) : opt_(std::move(o)), out_(out) {}

    /// Runs the command traced; returns vfio-trace's exit status.
    int run_command(const sigset_t& original_mask);
    /// Attaches to every thread of opt_.pid; returns vfio-trace's exit status.
    int run_attach();
    /// The signal that killed the traced program (0: none): vfio-trace then dies of it too.
    int die_with() const { return die_with_; }

private:
    int loop();
    void handle(pid_t tid, int status);
    void on_syscall(thread& t);
    void on_entry(thread& t, std::uint64_t nr, const std::array<std::uint64_t, 6>& args);
    void on_return(thread& t, pending_call& c, std::int64_t rval, bool is_error);
    void capture_ioctl(thread& t, pending_call& c);
    void finish_ioctl(thread& t, pending_call& c, std::int64_t rval, bool is_error);
    void on_new_tracee(thread& parent, int event);
    void on_exec(pid_t tid);
    void on_death(pid_t tid, int status);
    void detach(pid_t tid, int status);
    void on_signal(int sig);
    void resume(pid_t tid, int sig);
    void emit(const vt::record& r);
    void finish();
    int exit_status();
    vt::render_ctx ctx_for(thread& t) {
        return {t.tid, [this, &t](int fd) { return t.fds->lookup(t.tid, fd, opt_.assume); }};
    }

    options opt_;
    std::FILE* out_;
    int sigfd_ = -1;
    std::map<pid_t, thread> threads_;
    std::map<pid_t, int> held_;  // stopped tracees whose parent's clone/fork event has not been seen yet
    pid_t main_pid_ = 0;
    std::optional<int> main_status_;
    bool attached_ = false;  // -p mode
    bool detaching_ = false;
    int die_with_ = 0;
    vt::summary summary_;
};

void tracer::resume(pid_t tid, int sig) {
    // ESRCH: the thread died meanwhile (SIGKILL, exit_group of another thread); its death is reported by wait
    if (::ptrace(PTRACE_SYSCALL, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig))) < 0 && errno != ESRCH)
        fmt::print(stderr, "vfio-trace: PTRACE_SYSCALL {}: {}\n", tid, std::strerror(errno));
}

void tracer::emit(const vt::record& r) {
    summary_.count(r);
    if (opt_.json)
        fmt::print(out_, "{}\n", dump(vt::to_json(r)));
    else
        fmt::print(out_, "{}\n", vt::to_text(r));
    std::fflush(out_);  // live: a line per ioctl as it returns, also when the tracee is killed
}

void tracer::capture_ioctl(thread& t, pending_call& c) {
    const int fd = static_cast<int>(c.args[0]);
    const auto code = static_cast<std::uint32_t>(c.args[1]);
    vt::fd_kind kind = t.fds->lookup(t.tid, fd, opt_.assume);
    const bool vfio_type = ((code >> 8) & 0xff) == ';';  // VFIO and iommufd share the ioctl type ';'
    if (kind == vt::fd_kind::other && !vfio_type) return;  // neither a VFIO fd nor a VFIO code: not ours
    vt::record r;
    r.tid = t.tid;
    r.pid = t.tgid;
    r.fd = fd;
    r.kind = kind;
    r.code = code;
    r.arg = c.args[2];
    vt::capture_request(r, c.in_image, ctx_for(t));
    c.ioctl = std::move(r);
}

void tracer::finish_ioctl(thread& t, pending_call& c, std::int64_t rval, bool is_error) {
    vt::record r = std::move(*c.ioctl);
    vt::finish_reply(r, c.in_image, rval, is_error, ctx_for(t));
    if (r.new_fd) t.fds->set(*r.new_fd, r.new_fd_kind);
    emit(r);
}

void tracer::on_entry(thread& t, std::uint64_t nr, const std::array<std::uint64_t, 6>& args) {
    pending_call c;
    c.nr = nr;
    c.args = args;
    switch (nr) {
#ifdef SYS_open
        case SYS_open:
#endif
#ifdef SYS_creat
        case SYS_creat:
#endif
            vt::read_remote_string(t.tid, args[0], 4096, c.path);
            break;
        case SYS_openat:
        case SYS_openat2:
            vt::read_remote_string(t.tid, args[1], 4096, c.path);
            break;
        case SYS_ioctl:
            capture_ioctl(t, c);
            if (!c.ioctl) return;
            break;
        case SYS_close:
        case SYS_close_range:
        case SYS_dup:
#ifdef SYS_dup2
        case SYS_dup2:
#endif
        case SYS_dup3:
        case SYS_fcntl:
        case SYS_unshare:
        case SYS_clone:
        case SYS_clone3:
            break;
        default:
            return;  // nothing to follow: no state is kept for the exit stop
    }
    t.call = std::move(c);
}

void tracer::on_return(thread& t, pending_call& c, std::int64_t rval, bool is_error) {
    auto& fds = *t.fds;
    auto kind_of = [&](std::uint64_t fd) { return fds.lookup(t.tid, static_cast<int>(fd), opt_.assume); };
    switch (c.nr) {
#ifdef SYS_open
        case SYS_open:
#endif
#ifdef SYS_creat
        case SYS_creat:
#endif
        case SYS_openat:
        case SYS_openat2:
            if (!is_error) {
                // the path as passed, else what it resolved to (a relative path, a symlink to /dev/vfio/...)
                fds.erase(static_cast<int>(rval));
                if (auto k = vt::classify(c.path, opt_.assume))
                    fds.set(static_cast<int>(rval), *k);
                else
                    kind_of(static_cast<std::uint64_t>(rval));
            }
            break;
        case SYS_close:
            if (!(is_error && rval == -EBADF)) fds.erase(static_cast<int>(c.args[0]));  // EINTR too: Linux closed it
            break;
        case SYS_close_range:
            if (!is_error) {
                if (c.args[2] & CLOSE_RANGE_UNSHARE) t.fds = std::make_shared<vt::fd_table>(fds);
                if (!(c.args[2] & CLOSE_RANGE_CLOEXEC))
                    t.fds->erase_range(static_cast<unsigned>(c.args[0]), static_cast<unsigned>(c.args[1]));
            }
            break;
        case SYS_dup:
            if (!is_error) fds.set(static_cast<int>(rval), kind_of(c.args[0]));
            break;
#ifdef SYS_dup2
        case SYS_dup2:
#endif
        case SYS_dup3:
            if (!is_error && c.args[0] != c.args[1]) fds.set(static_cast<int>(c.args[1]), kind_of(c.args[0]));
            break;
        case SYS_fcntl:
            if (!is_error && (c.args[1] == F_DUPFD || c.args[1] == F_DUPFD_CLOEXEC))
                fds.set(static_cast<int>(rval), kind_of(c.args[0]));
            break;
        case SYS_unshare:
            if (!is_error && (c.args[0] & CLONE_FILES)) t.fds = std::make_shared<vt::fd_table>(fds);
            break;
        case SYS_ioctl:
            finish_ioctl(t, c, rval, is_error);
            break;
        default:
            break;
    }
}

void tracer::on_syscall(thread& t) {
    __ptrace_syscall_info info{};
    if (::ptrace(PTRACE_GET_SYSCALL_INFO, t.tid, reinterpret_cast<void*>(sizeof info), &info) <= 0) return;
    if (info.arch != AUDIT_ARCH_X86_64) {  // a 32-bit syscall (int 0x80): other numbers, other layouts
        t.call.reset();
        return;
    }
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
        t.call.reset();
        std::array<std::uint64_t, 6> args;
        std::copy(std::begin(info.entry.args), std::end(info.entry.args), args.begin());
        on_entry(t, info.entry.nr, args);
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
        if (!t.call) return;  // not followed, or the entry happened before we attached
        auto c = std::move(*t.call);
        t.call.reset();
        on_return(t, c, info.exit.rval, info.exit.is_error != 0);
    }
}

void tracer::on_new_tracee(thread& parent, int event) {
    unsigned long msg = 0;
    if (::ptrace(PTRACE_GETEVENTMSG, parent.tid, nullptr, &msg) < 0) return;
    auto child = static_cast<pid_t>(msg);
    // Threads share the fd table (CLONE_FILES), fork copies it: read the flags of the clone that made the child.
    std::optional<std::uint64_t> flags;
    if (parent.call && parent.call->nr == SYS_clone) flags = parent.call->args[0];
    if (parent.call && parent.call->nr == SYS_clone3) {
        auto head = vt::read_remote(parent.tid, parent.call->args[0], 8);  // struct clone_args: u64 flags first
        if (head.complete) {
            std::uint64_t f;
            std::memcpy(&f, head.bytes.data(), 8);
            flags = f;
        }
    }
    const bool threadlike = event == PTRACE_EVENT_CLONE;
    const bool shares_files = flags ? (*flags & CLONE_FILES) != 0 : threadlike;
    const bool same_process = flags ? (*flags & CLONE_THREAD) != 0 : threadlike;
    thread c;
    c.tid = child;
    c.tgid = same_process ? parent.tgid : child;
    c.fds = shares_files ? parent.fds : std::make_shared<vt::fd_table>(*parent.fds);
    threads_[child] = std::move(c);
    if (auto h = held_.find(child); h != held_.end()) {
        int st = h->second;
        held_.erase(h);
        handle(child, st);
    }
}

void tracer::on_exec(pid_t tid) {
    unsigned long former = 0;
    ::ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &former);
    // A non-leader thread that execs takes the leader's tid; the others are gone.
    if (static_cast<pid_t>(former) != tid) {
        if (auto it = threads_.find(static_cast<pid_t>(former)); it != threads_.end()) {
            thread t = std::move(it->second);
            threads_.erase(it);
            t.tid = tid;
            threads_[tid] = std::move(t);
        }
    }
    auto& t = threads_[tid];
    t.tid = tid;
    t.tgid = tid;
    t.call.reset();
    // exec unshares the table and closes close-on-exec fds: start again from what /proc shows
    t.fds = std::make_shared<vt::fd_table>();
    t.fds->seed(tid, opt_.assume);
}

void tracer::on_death(pid_t tid, int status) {
    if (auto it = threads_.find(tid); it != threads_.end()) {
        if (it->second.call && it->second.call->ioctl) {
            auto r = std::move(*it->second.call->ioctl);
            r.finished = false;
            const char* sig = WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : nullptr;
            r.unfinished_why = WIFSIGNALED(status) ? fmt::format("killed by SIG{}", sig ? sig : "?") : "the thread exited";
            emit(r);
        }
        threads_.erase(it);
    }
    held_.erase(tid);
    if (tid == main_pid_) main_status_ = status;
}

void tracer::detach(pid_t tid, int status) {
    auto it = threads_.find(tid);
    if (it == threads_.end()) return;
    thread& t = it->second;
    const int sig = WSTOPSIG(status);
    const int event = status >> 16;
    int deliver = 0;
    if (sig == (SIGTRAP | 0x80)) {
        on_syscall(t);  // an exit stop completes its ioctl; an entry stop leaves the call to run untraced
    } else if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK) {
        on_new_tracee(t, event);  // the child is attached too: it stops and is detached in turn
    } else if (event == 0) {
        deliver = sig;  // a signal about to be delivered: hand it over with the detach
    }
    if (t.call && t.call->ioctl) {
        auto r = std::move(*t.call->ioctl);
        r.finished = false;
        r.unfinished_why = "detached";
        emit(r);
    }
    // a group-stopped tracee stays stopped after PTRACE_DETACH, as it would be untraced
    ::ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(deliver)));
    threads_.erase(tid);
}

void tracer::handle(pid_t tid, int status) {
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
        on_death(tid, status);
        return;
    }
    if (!WIFSTOPPED(status)) return;
    auto it = threads_.find(tid);
    if (it == threads_.end()) {
        held_[tid] = status;  // a new tracee reported before its parent's event: wait for it
        return;
    }
    if (detaching_) {
        detach(tid, status);
        return;
    }
    thread& t = it->second;
    const int sig = WSTOPSIG(status);
    const int event = status >> 16;
    if (sig == (SIGTRAP | 0x80)) {
        on_syscall(t);
        resume(tid, 0);
        return;
    }
    switch (event) {
        case 0:
            resume(tid, sig);  // signal-delivery-stop: the program gets its signal
            return;
        case PTRACE_EVENT_STOP:
            if (is_stop_signal(sig)) {
                // group-stop: stay stopped until SIGCONT, yet keep reporting to us (PTRACE_SEIZE only)
                if (::ptrace(PTRACE_LISTEN, tid, nullptr, nullptr) < 0 && errno != ESRCH)
                    fmt::print(stderr, "vfio-trace: PTRACE_LISTEN {}: {}\n", tid, std::strerror(errno));
                return;
            }
            resume(tid, 0);  // the first stop of a new tracee, or the end of a group-stop
            return;
        case PTRACE_EVENT_CLONE:
        case PTRACE_EVENT_FORK:
        case PTRACE_EVENT_VFORK:
            on_new_tracee(t, event);
            resume(tid, 0);
            return;
        case PTRACE_EVENT_EXEC:
            on_exec(tid);
            resume(tid, 0);
            return;
        default:
            resume(tid, 0);
            return;
    }
}

void tracer::on_signal(int sig) {
    if (attached_) {
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            // Detach: interrupt every thread; each is released at its next stop (detach()).
            detaching_ = true;
            for (auto& [tid, t] : threads_) ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
            for (auto it = held_.begin(); it != held_.end();) {
                ::ptrace(PTRACE_DETACH, it->first, nullptr, nullptr);
                it = held_.erase(it);
            }
        }
        return;
    }
    // Running a command: SIGTERM/SIGHUP go to the command (it ends, and so do we, with its status); SIGINT and SIGQUIT
    // from a terminal reach the command by themselves (same process group), so they are not sent twice.
    if ((sig == SIGTERM || sig == SIGHUP) && main_pid_ > 0 && !main_status_) ::kill(main_pid_, sig);
}

int tracer::loop() {
    for (;;) {
        for (;;) {
            int status = 0;
            pid_t tid = ::waitpid(-1, &status, __WALL | WNOHANG);
            if (tid > 0) {
                handle(tid, status);
                continue;
            }
            if (tid < 0 && errno == EINTR) continue;
            if (tid < 0 && errno == ECHILD) return 0;  // no tracee left
            break;
        }
        if (threads_.empty() && held_.empty()) return 0;
        pollfd p{sigfd_, POLLIN, 0};
        // SIGCHLD wakes us for every stop; the timeout only guards against a lost wakeup
        if (::poll(&p, 1, 1000) > 0 && (p.revents & POLLIN)) {
            signalfd_siginfo si;
            while (::read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si))
                if (si.ssi_signo != SIGCHLD) on_signal(static_cast<int>(si.ssi_signo));
        }
    }
}

void tracer::finish() {
    if (opt_.summary) {
        if (opt_.json)
            fmt::print(out_, "{}\n", dump(summary_.to_json()));
        else
            fmt::print(out_, "{}", summary_.text());
    }
    std::fflush(out_);
}

int tracer::exit_status() {
    if (!main_status_) return 0;  // detached (-p)
    if (WIFEXITED(*main_status_)) return WEXITSTATUS(*main_status_);
    die_with_ = WTERMSIG(*main_status_);
    return 128 + die_with_;
}

/// Killed by a signal: die of the same signal, so that our parent sees what it would have seen untraced; 128+N if
/// the signal does not kill us.
void die_of(int sig) {
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);  // the program dumped its own core if it was to
    ::signal(sig, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    ::sigprocmask(SIG_UNBLOCK, &s, nullptr);
    ::raise(sig);
}

sigset_t tracer_signals() {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&s, sig);
    return s;
}

int tracer::run_command(const sigset_t& original_mask) {
    auto set = tracer_signals();
    sigfd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    std::vector<char*> argv;
    for (auto& a : opt_.command) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t child = ::fork();
    if (child < 0) {
        fmt::print(stderr, "vfio-trace: fork: {}\n", std::strerror(errno));
        return exit_tracer_error;
    }
    if (child == 0) {
        // The program starts as it would untraced: the caller's signal mask; then it stops until we have seized it.
        ::sigprocmask(SIG_SETMASK, &original_mask, nullptr);
        ::raise(SIGSTOP);
        ::execvp(argv[0], argv.data());
        int e = errno;
        fmt::print(stderr, "vfio-trace: cannot run {}: {}\n", argv[0], std::strerror(e));
        ::_exit(e == ENOENT ? 127 : 126);
    }
    int status = 0;
    while (::waitpid(child, &status, WSTOPPED) < 0 && errno == EINTR) {
    }
    if (!WIFSTOPPED(status)) {
        fmt::print(stderr, "vfio-trace: the command ended before it could be traced\n");
        return exit_tracer_error;
    }
    if (::ptrace(PTRACE_SEIZE, child, nullptr, reinterpret_cast<void*>(trace_options)) < 0) {
        fmt::print(stderr, "vfio-trace: PTRACE_SEIZE {}: {}\n", child, std::strerror(errno));
        ::kill(child, SIGKILL);
        return exit_tracer_error;
    }
    main_pid_ = child;
    thread t;
    t.tid = t.tgid = child;
    t.fds = std::make_shared<vt::fd_table>();
    threads_[child] = std::move(t);
    ::kill(child, SIGCONT);  // it reports its group-stop, then the end of it, then runs into execve
    loop();
    finish();
    return exit_status();
}

int tracer::run_attach() {
    attached_ = true;
    auto set = tracer_signals();
    sigfd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    // The process, whichever of its threads was named.
    pid_t tgid = opt_.pid;
    if (std::FILE* f = std::fopen(fmt::format("/proc/{}/status", opt_.pid).c_str(), "re")) {
        char line[256];
        while (std::fgets(line, sizeof line, f))
            if (std::sscanf(line, "Tgid: %d", &tgid) == 1) break;
        std::fclose(f);
    } else {
        fmt::print(stderr, "vfio-trace: no process {}\n", opt_.pid);
        return exit_tracer_error;
    }
    main_pid_ = tgid;
    auto table = std::make_shared<vt::fd_table>();
    // Seize every thread; threads made meanwhile are found by listing again until a pass finds none (threads made
    // by a seized thread are attached by TRACECLONE).
    for (bool added = true; added;) {
        added = false;
        DIR* d = ::opendir(fmt::format("/proc/{}/task", tgid).c_str());
        if (!d) break;
        while (auto* e = ::readdir(d)) {
            if (!vt::detail::all_digits(e->d_name)) continue;
            pid_t tid = std::stoi(e->d_name);
            if (threads_.count(tid)) continue;
            if (::ptrace(PTRACE_SEIZE, tid, nullptr, reinterpret_cast<void*>(trace_options)) < 0) {
                if (errno == ESRCH) continue;  // it just exited
                fmt::print(stderr, "vfio-trace: PTRACE_SEIZE {}: {}\n", tid, std::strerror(errno));
                ::closedir(d);
                for (auto& [t, th] : threads_) ::ptrace(PTRACE_DETACH, t, nullptr, nullptr);
                return exit_tracer_error;
            }
            // Seized threads run on as if PTRACE_CONT; stop each once, so that its restart traces syscalls.
            ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
            thread t;
            t.tid = tid;
            t.tgid = tgid;
            t.fds = table;
            threads_[tid] = std::move(t);
            added = true;
        }
        ::closedir(d);
    }
    if (threads_.empty()) {
        fmt::print(stderr, "vfio-trace: no thread of process {} could be attached\n", tgid);
        return exit_tracer_error;
    }
    table->seed(tgid, opt_.assume);  // fds opened before we came
    loop();
    finish();
    return exit_status();
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    std::vector<std::string> assume;
    CLI::App app{"vfio-trace: decodes every VFIO and iommufd ioctl a program issues, live (ptrace).\n"
                 "  vfio-trace [OPTIONS] -- COMMAND [ARGS...]    run COMMAND traced\n"
                 "  vfio-trace [OPTIONS] -p PID                  trace a running process\n"
                 "Each ioctl on a VFIO container, group, device, iommufd or migration data fd is printed when it returns:\n"
                 "thread id, fd and what it is, the ioctl's name, the request as passed, the kernel's reply (capability\n"
                 "chains, trailers), and the result (value, new fd, or errno by name)."};
    app.set_help_flag("-h,--help", "print this help and exit");
    app.add_option("-p,--pid", opt.pid, "attach to this running process (all its threads); SIGINT detaches")
        ->check(CLI::PositiveNumber)
        ->type_name("PID");
    app.add_flag("--json", opt.json, "one JSON object per ioctl (and the summary as one object)");
    app.add_option("-o,--output", opt.output, "write the trace to FILE instead of standard error")->type_name("FILE");
    app.add_flag("--summary", opt.summary, "at the end, print the calls and errors per ioctl, errors per errno, unknown ioctls");
    // Hidden (no group): maps a path to an fd kind, for tests on machines without /dev/vfio.
    app.add_option("--assume-kind", assume, "PATH=KIND")->group("");
    app.footer(
        "Exit status:\n"
        "  the traced command's exit status; killed by signal N: vfio-trace kills itself with N (128+N in a shell)\n"
        "  -p: 0 after detaching on SIGINT, SIGTERM or SIGHUP; the process's status if it ended while traced\n"
        "  2 bad command line, 125 cannot trace (attach refused, fork failed, output not writable),\n"
        "  126 the command cannot be executed, 127 the command was not found\n"
        "Signals: with a command, SIGTERM and SIGHUP to vfio-trace are passed to the command; SIGINT and SIGQUIT are\n"
        "ignored (a terminal sends them to the command itself). The traced program gets every signal it would get.");
    // Everything after the first "--" is the command, untouched (CLI11 would reorder or parse it).
    int ours = argc;
    for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]) == "--") {
            ours = i;
            break;
        }
    for (int i = ours + 1; i < argc; ++i) opt.command.emplace_back(argv[i]);
    try {
        app.parse(ours, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return exit_usage;
    }
    if ((opt.pid != 0) == !opt.command.empty()) {
        fmt::print(stderr, "vfio-trace: give either -p PID or -- COMMAND...\nRun with --help for more information.\n");
        return exit_usage;
    }
    for (const auto& a : assume) {
        auto eq = a.rfind('=');
        auto kind = eq == std::string::npos ? std::nullopt : vt::kind_from_string(std::string_view(a).substr(eq + 1));
        if (!kind) {
            fmt::print(stderr, "vfio-trace: --assume-kind wants PATH=KIND (container, group, device, iommufd, "
                               "migration-data, other), got '{}'\n", a);
            return exit_usage;
        }
        opt.assume[a.substr(0, eq)] = *kind;
    }
    std::FILE* out = stderr;
    if (!opt.output.empty()) {
        out = std::fopen(opt.output.c_str(), "we");  // close-on-exec: the traced program must not inherit it
        if (!out) {
            fmt::print(stderr, "vfio-trace: cannot write {}: {}\n", opt.output, std::strerror(errno));
            return exit_tracer_error;
        }
    }
    // Our signals are read from a signalfd; the command gets the mask we were started with.
    sigset_t original, blocked = tracer_signals();
    ::sigprocmask(SIG_BLOCK, &blocked, &original);
    tracer t(opt, out);
    int rc = opt.pid ? t.run_attach() : t.run_command(original);
    if (out != stderr) std::fclose(out);
    if (t.die_with()) die_of(t.die_with());
    return rc;
}
