#pragma once
// Shared by the server's connection tests: many TCP clients on 127.0.0.1 that send nothing (or
// half a request), and one request under a deadline, on raw sockets so that nothing in a client
// library (retries, pools, its own timeouts) stands between the test and the server.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <string>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace spate::test {

// Raises this process's soft limit of open files to its hard limit; returns the limit now.
inline rlim_t RaiseOpenFileLimit() {
  rlimit l{};
  if (getrlimit(RLIMIT_NOFILE, &l) != 0) return 0;
  if (l.rlim_cur < l.rlim_max) {
    l.rlim_cur = l.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &l) != 0) getrlimit(RLIMIT_NOFILE, &l);
  }
  return l.rlim_cur;
}

// Closes with a reset instead of a FIN: thousands of closes leave no TIME_WAIT behind to hold
// the loopback's ephemeral ports.
inline void CloseNow(int fd) {
  linger now{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
  close(fd);
}

inline void CloseAll(std::vector<int>* fds) {
  for (int fd : *fds) CloseNow(fd);
  fds->clear();
}

inline int ConnectNonBlocking(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

// Waits until fd's connect completes (true) or fails or the deadline passes (false).
inline bool WaitConnected(int fd, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    const int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    int err = 0;
    socklen_t len = sizeof(err);
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  }
}

// n connections to 127.0.0.1:port, each connected (its handshake done) within `within`; the
// last `partial` of them send `prefix` (half a request) and then nothing. Returns those that
// connected in time; the others are closed.
inline std::vector<int> OpenIdleConnections(int port, int n, int partial, const std::string& prefix,
                                            std::chrono::milliseconds within) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    const int fd = ConnectNonBlocking(port);
    if (fd >= 0) fds.push_back(fd);
  }
  const auto deadline = std::chrono::steady_clock::now() + within;
  std::vector<int> connected;
  for (int fd : fds) {
    if (WaitConnected(fd, deadline)) {
      connected.push_back(fd);
    } else {
      CloseNow(fd);
    }
  }
  const size_t first_partial = connected.size() - std::min<size_t>(partial, connected.size());
  for (size_t i = first_partial; i < connected.size(); ++i) {
    (void)!send(connected[i], prefix.data(), prefix.size(), MSG_NOSIGNAL);
  }
  return connected;
}

// Sends `bytes` on each of fds (connected, non-blocking), as far as their buffers take them.
inline void SendToAll(const std::vector<int>& fds, const std::string& bytes) {
  for (int fd : fds) (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

// A connection to 127.0.0.1:port that has sent `bytes` (all of them, blocking until the server
// took them), or -1.
inline int Sent(int port, const std::string& bytes) {
  const int fd = ConnectNonBlocking(port);
  if (fd < 0) return -1;
  if (!WaitConnected(fd, std::chrono::steady_clock::now() + std::chrono::seconds(5)) ||
      fcntl(fd, F_SETFL, 0) != 0) {
    CloseNow(fd);
    return -1;
  }
  for (size_t at = 0; at < bytes.size();) {
    const ssize_t n = send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    if (n <= 0) {
      CloseNow(fd);
      return -1;
    }
    at += static_cast<size_t>(n);
  }
  return fd;
}

// The status code of the reply to `request` (raw HTTP) on a fresh connection, or -1 when no
// status line came within `within` (connect, send and the reply's first line together).
inline int StatusWithin(int port, const std::string& request, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  const int fd = ConnectNonBlocking(port);
  if (fd < 0) return -1;
  int status = -1;
  if (WaitConnected(fd, deadline) && send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                                         static_cast<ssize_t>(request.size())) {
    std::string got;
    while (got.find("\r\n") == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[512];
      const ssize_t r = recv(fd, buf, sizeof(buf), 0);
      if (r <= 0) break;
      got.append(buf, static_cast<size_t>(r));
    }
    // "HTTP/1.1 200 OK"
    if (got.size() >= 12 && got.compare(0, 5, "HTTP/") == 0) {
      std::from_chars(got.data() + 9, got.data() + 12, status);
    }
  }
  CloseNow(fd);
  return status;
}

inline int GetWithin(int port, const std::string& path, std::chrono::milliseconds within) {
  return StatusWithin(
      port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", within);
}

}  // namespace spate::test
