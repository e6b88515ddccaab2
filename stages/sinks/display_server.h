// Whether a window can be opened at all, checked before any GUI library is touched: HighGUI's
// toolkits (Qt, GTK) abort the whole process when the display named in DISPLAY cannot be
// reached, so a stale DISPLAY (an ssh session without X forwarding, a stopped Xvfb) would
// otherwise kill the run with no message a user can act on.
#pragma once

#include <string>

namespace pipeline {

// "" when a display server answers; otherwise why no window can be shown, in words.
// X11: DISPLAY ([host]:number[.screen]) is reached through its local socket
// (/tmp/.X11-unix/X<number>) or, for a host, TCP port 6000 + number. Wayland: the socket
// $XDG_RUNTIME_DIR/$WAYLAND_DISPLAY exists.
std::string DisplayServerProblem();

}  // namespace pipeline
