#!/usr/bin/env bash
# CI screenshot step for 践诺 Jiannuo: build the real desktop app (cgo, GLFW
# driver), start it under Xvfb in demo mode, wait for its main window, take a
# screenshot and check that it is not blank. `make screenshot` runs this; it
# installs nothing (`make deps` brings xvfb, xauth, imagemagick, xdotool and
# the GL/X11 headers).
#
# What is checked, and what is not:
#   * the app builds with the real driver, starts, and maps a window whose
#     title matches WINDOW_NAME within WINDOW_TIMEOUT seconds;
#   * the window's pixels are not blank: at least MIN_COLOURS distinct colours
#     (anti-aliased text and icons give hundreds; a black or empty window a
#     handful) and at least MIN_INK of its pixels differ from its most common
#     colour (the background);
#   * missing Chinese glyphs ("tofu" boxes) are NOT detected from pixels. That
#     guarantee comes from TestNoTofu in app/theme (run by `make test`): every
#     character of the translation files, the demo data and the office
#     directory has a glyph in the font the theme embeds, and Fyne draws text
#     with the theme's font before any system font. The screenshot is kept as
#     an artifact for a person to look at.
#
# Output: $SCREENSHOT_DIR/main-window.png (the whole 1280×800 Xvfb screen, as
# `import -window root` takes it), window.png (the window alone) and app.log.
#
# Then, for the documentation, one picture per scene of SCENES (the app's
# -scene flag opens a screen directly; see app/scene.go), in the light theme,
# the window alone: $DOCS_DIR/desktop-<scene>.png. The scenes reuse the demo
# data the check built, so each takes a few seconds; the enrol scene sets up
# a fresh device instead. Each must pass the same not-blank checks.
#
# Environment (all optional):
#   APP_PKG         package to build (default: . , the repo's main.go)
#   APP_BIN         where to build it (default: /tmp/jiannuo-app)
#   APP_ARGS        arguments (default: -demo -demo-dir <fresh temp dir>)
#   BUILD_TAGS      go build tags (default: migrated_fynedo)
#   SKIP_BUILD=1    use an existing APP_BIN
#   SCREENSHOT_DIR  where the artifacts go (default: dist/screenshots)
#   WINDOW_NAME     window title to wait for, a regexp (default: 践诺)
#   WINDOW_TIMEOUT  seconds to wait for the window (default: 120)
#   PAINT_TIMEOUT   seconds to wait, once mapped, for a non-blank, settled
#                   frame (default: 60)
#   MIN_COLOURS     (default: 64)   MIN_INK  percent (default: 1)
#   QUIT_TIMEOUT    seconds the app has to quit after SIGTERM once its
#                   picture is taken, before it is killed (default: 15)
#   SCENES          scenes to picture (default: main form dashboard enrol
#                   small cases case records admin-cases today report
#                   syncfile admin-urges admin-admins;
#                   empty: none)
#   DOCS_DIR        where the scene pictures go (default: docs/screenshots)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
self="$PWD/.ci/screenshot.sh"

APP_PKG="${APP_PKG:-.}"
APP_BIN="${APP_BIN:-/tmp/jiannuo-app}"
BUILD_TAGS="${BUILD_TAGS:-migrated_fynedo}"
SCREENSHOT_DIR="${SCREENSHOT_DIR:-dist/screenshots}"
WINDOW_NAME="${WINDOW_NAME:-践诺}"
WINDOW_TIMEOUT="${WINDOW_TIMEOUT:-120}"
PAINT_TIMEOUT="${PAINT_TIMEOUT:-60}"
MIN_COLOURS="${MIN_COLOURS:-64}"
MIN_INK="${MIN_INK:-1}"
SCENES="${SCENES-main form dashboard enrol small cases case records admin-cases today report syncfile admin-urges admin-admins}"
DOCS_DIR="${DOCS_DIR:-docs/screenshots}"
POLL=0.25 # seconds between polls

say() { echo "screenshot: $*"; }
fail() { echo "screenshot: FAIL: $*" >&2; exit 1; }
# Any other failing command (set -e) says where, instead of exiting silently.
trap 'echo "screenshot: FAIL: line $LINENO: $BASH_COMMAND exited $?" >&2' ERR

# --- inside Xvfb -------------------------------------------------------------
# xvfb-run calls this script again with --inside, DISPLAY set:
#   --inside WORK check ARGS...        the check of the main window
#   --inside WORK scene NAME OUT ARGS  one scene's picture, the window alone

# capture starts the app with the given arguments, waits for its window to
# be mapped (WINDOW_TIMEOUT), painted and settled (PAINT_TIMEOUT), and
# leaves the last good frame
# in $work/passed-root.png and $work/passed-window.png, $passed describing
# it. MAX_WIDTH, if set, is a width the window must not exceed (a scene
# that shrinks it). It stops the app before returning.
capture() {
  local log="$1"; shift
  "$APP_BIN" "$@" >"$log" 2>&1 &
  app=$!
  trap 'kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true' EXIT

  # 1. Wait for the window: poll xdotool, bounded by WINDOW_TIMEOUT.
  local start=$SECONDS win=""
  while [ -z "$win" ]; do
    if ! kill -0 "$app" 2>/dev/null; then
      wait "$app" && rc=0 || rc=$?
      tail -n 40 "$log" >&2 || true
      fail "the app exited (status $rc) before its window appeared; log above"
    fi
    if [ $((SECONDS - start)) -ge "$WINDOW_TIMEOUT" ]; then
      xwininfo -root -tree >&2 || true
      tail -n 40 "$log" >&2 || true
      fail "no window named /$WINDOW_NAME/ after ${WINDOW_TIMEOUT}s"
    fi
    win=$(xdotool search --onlyvisible --name "$WINDOW_NAME" 2>/dev/null | head -n 1 || true)
    [ -n "$win" ] || sleep "$POLL"
  done
  say "window $win \"$(xdotool getwindowname "$win")\" mapped after $((SECONDS - start))s"

  # 2. Wait until the window is painted (passes the checks) and settled (two
  #    polls in a row give the same pixels), bounded by PAINT_TIMEOUT. A frame
  #    that passes but never settles (a blinking cursor, a progress bar) is
  #    taken when the time is up.
  local shot="$work/root.png" cropped="$work/window.png" prev="" sig=""
  start=$SECONDS; passed=""; settled=""; why=""
  rm -f "$work/passed-root.png" "$work/passed-window.png"
  while :; do
    kill -0 "$app" 2>/dev/null || { tail -n 40 "$log" >&2 || true; fail "the app exited while painting"; }
    [ $((SECONDS - start)) -lt "$PAINT_TIMEOUT" ] || break
    # Look the window up again each time: an app may replace its first
    # window (a splash, a sign-in) by the main one under the same title.
    win=$(xdotool search --onlyvisible --name "$WINDOW_NAME" 2>/dev/null | tail -n 1 || true)
    if [ -z "$win" ] || ! geom=$(xdotool getwindowgeometry --shell "$win" 2>/dev/null); then
      why="the window went away"; sleep "$POLL"; continue
    fi
    eval "$geom" # WINDOW X Y WIDTH HEIGHT SCREEN
    if [ -n "${MAX_WIDTH:-}" ] && [ "$WIDTH" -gt "$MAX_WIDTH" ]; then
      why="the window is ${WIDTH} px wide, not yet at most $MAX_WIDTH"; sleep "$POLL"; continue
    fi
    import -window root "$shot"
    convert "$shot" -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$cropped"
    read -r w h colours < <(identify -format '%w %h %k\n' "$cropped")
    total=$((w * h))
    # Pixels of the most common colour: the background.
    bg=$(convert "$cropped" -format %c histogram:info:- | awk '$1+0 > max { max = $1+0 } END { print max+0 }')
    ink=$(( (total - bg) * 1000 / total )) # per mille
    sig=$(identify -format %# "$cropped")
    if [ "$colours" -ge "$MIN_COLOURS" ] && [ "$ink" -ge $((MIN_INK * 10)) ]; then
      passed="$colours colours, $((ink / 10)).$((ink % 10))% of the window is not background"
      cp "$shot" "$work/passed-root.png"; cp "$cropped" "$work/passed-window.png"
      if [ "$sig" = "$prev" ]; then settled=1; break; fi
    fi
    why="${w}x${h} window: $colours colours (min $MIN_COLOURS), $((ink / 10)).$((ink % 10))% ink (min $MIN_INK%)"
    prev="$sig"
    sleep "$POLL"
  done
  [ -n "$passed" ] || { tail -n 40 "$log" >&2 || true; [ ! -f "$shot" ] || cp "$shot" "$SCREENSHOT_DIR/failed-$(basename "$log" .log).png"; fail "blank window after ${PAINT_TIMEOUT}s: $why"; }
  [ -n "$settled" ] || say "note: the window kept changing for ${PAINT_TIMEOUT}s; keeping the last good frame"
  say "ok after $((SECONDS - start))s: $passed"
  stop_app
  trap - EXIT
}

# stop_app asks the app to quit (SIGTERM, as a desktop session does) and
# waits for it, QUIT_TIMEOUT seconds at most: Fyne 2.7.1's shutdown can
# deadlock when a lifecycle event is queued just as its main loop ends
# (the event waits for the main thread, the main thread for the event
# queue). The screenshot is taken by then, so a hung app is killed, said
# so, and the run goes on.
stop_app() {
  kill "$app" 2>/dev/null || true
  local until=$((SECONDS + ${QUIT_TIMEOUT:-15}))
  while kill -0 "$app" 2>/dev/null && [ "$SECONDS" -lt "$until" ]; do
    sleep "$POLL"
  done
  if kill -0 "$app" 2>/dev/null; then
    say "note: the app did not quit within ${QUIT_TIMEOUT:-15}s of SIGTERM (Fyne's shutdown); killed"
    kill -9 "$app" 2>/dev/null || true
  fi
  wait "$app" 2>/dev/null || true
}

if [ "${1:-}" = "--inside" ]; then
  shift
  work="$1"; mode="$2"; shift 2
  case "$mode" in
    check)
      capture "$SCREENSHOT_DIR/app.log" "$@"
      cp "$work/passed-root.png" "$SCREENSHOT_DIR/main-window.png"
      cp "$work/passed-window.png" "$SCREENSHOT_DIR/window.png"
      ;;
    scene)
      name="$1"; out="$2"; shift 2
      MAX_WIDTH=""
      [ "$name" != small ] || MAX_WIDTH=700 # 640 and the window's padding
      say "scene $name"
      capture "$SCREENSHOT_DIR/scene-$name.log" "$@" -scene "$name"
      cp "$work/passed-window.png" "$out"
      say "scene $name: $out"
      ;;
    *) fail "unknown mode $mode" ;;
  esac
  exit 0
fi

# --- outside -----------------------------------------------------------------
for tool in xvfb-run xauth import convert identify xdotool xwininfo; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run make deps"
done
mkdir -p "$SCREENSHOT_DIR"
SCREENSHOT_DIR="$(cd "$SCREENSHOT_DIR" && pwd)"
export SCREENSHOT_DIR
t0=$SECONDS

if [ "${SKIP_BUILD:-}" != 1 ]; then
  say "go build -tags $BUILD_TAGS -o $APP_BIN $APP_PKG (cgo, GLFW driver)"
  CGO_ENABLED=1 go build -tags "$BUILD_TAGS" -o "$APP_BIN" "$APP_PKG"
  say "built in $((SECONDS - t0))s"
fi
[ -x "$APP_BIN" ] || fail "$APP_BIN not found"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/demo"
if [ -z "${APP_ARGS+x}" ]; then
  APP_ARGS="-demo -demo-dir $work/demo"
fi
export APP_BIN WINDOW_NAME WINDOW_TIMEOUT PAINT_TIMEOUT MIN_COLOURS MIN_INK

# A fresh HOME: no saved preferences (language, theme) from an earlier run.
# The X authority file lives in our work directory (-f), so xvfb-run makes
# no temporary directory of its own: its clean-up of one failed once (rc 5),
# and xvfb-run then exits without stopping Xvfb.
# LANG is left as CI has it (often C, which the app maps to Chinese).
xvfb() {
  HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_CACHE_HOME="$work/home/.cache" \
    xvfb-run -a -f "$work/Xauthority" -s "-screen 0 1280x800x24" bash "$self" --inside "$work" "$@"
}
t1=$SECONDS
# shellcheck disable=SC2086 # APP_ARGS is a word list
xvfb check $APP_ARGS
say "run and checks took $((SECONDS - t1))s; total $((SECONDS - t0))s"
say "artifacts: $SCREENSHOT_DIR/main-window.png window.png app.log"

# The documentation's pictures: one run per scene, in the light theme, on
# the demo data the check just built (the enrol scene on a fresh device).
if [ -n "$SCENES" ]; then
  t2=$SECONDS
  mkdir -p "$DOCS_DIR"
  DOCS_DIR="$(cd "$DOCS_DIR" && pwd)"
  for scene in $SCENES; do
    args="-demo -demo-dir $work/demo"
    if [ "$scene" = enrol ]; then
      rm -rf "$work/enrol"; mkdir -p "$work/enrol"
      args="-data $work/enrol"
    fi
    # shellcheck disable=SC2086 # args is a word list
    FYNE_THEME=light xvfb scene "$scene" "$DOCS_DIR/desktop-$scene.png" $args
  done
  say "scenes took $((SECONDS - t2))s: $DOCS_DIR/desktop-{${SCENES// /,}}.png"
fi
