#!/usr/bin/env python3
"""notify_listen.py SOCKET MOUNTPOINT LOG — systemd's notify socket, faked.

Binds a unix datagram socket at SOCKET (what $NOTIFY_SOCKET names for
sd_notify) and appends every assignment it receives to LOG, one a line
(READY=1, STATUS=…, STOPPING=1).  When READY=1 arrives it looks at
MOUNTPOINT at once and adds "checked: mounted" if /proc/self/mountinfo
lists an ipmaildir mount there and a stat of it gives a device other than
its parent's (the mount answers), else "checked: not mounted".  Ends after
STOPPING=1, or after 120 s.
"""
import os
import socket
import sys


def mounted(path):
    with open('/proc/self/mountinfo') as f:
        listed = any(
            line.split()[4] == path and
            line.split(' - ')[1].split()[0] == 'fuse.ipmaildir'
            for line in f)
    if not listed:
        return False
    return os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev


def main():
    sock_path, mnt, log = sys.argv[1:4]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(120)
    with open(log, 'a') as out:
        while True:
            try:
                data = s.recv(4096).decode()
            except socket.timeout:
                out.write('timeout\n')
                return
            for line in data.split('\n'):
                if line:
                    out.write(line + '\n')
            if 'READY=1' in data.split('\n'):
                state = 'mounted' if mounted(mnt) else 'not mounted'
                out.write('checked: %s\n' % state)
            out.flush()
            if 'STOPPING=1' in data.split('\n'):
                return


if __name__ == '__main__':
    main()
