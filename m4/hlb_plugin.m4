# hlb_plugin.m4 — one configure switch per plugin, in the manner of
# collectd's AC_PLUGIN: --enable-NAME=yes|no|auto, defaulting to
# --enable-all-plugins. A plugin whose dependency is missing is left out
# under auto and is an error when asked for with yes. The dependency result
# is cached in hlb_cv_dep_NAME, so a packager (or a test) can override it:
#   ./configure hlb_cv_dep_map=no

# HLB_PLUGINS_INIT: the --enable-all-plugins switch.
AC_DEFUN([HLB_PLUGINS_INIT], [
AC_ARG_ENABLE([all-plugins],
  [AS_HELP_STRING([--enable-all-plugins=yes|no|auto],
    [default for every --enable-PLUGIN switch @<:@auto@:>@])],
  [], [enable_all_plugins=auto])
AS_CASE([$enable_all_plugins], [yes|no|auto], [],
  [AC_MSG_ERROR([--enable-all-plugins takes yes, no or auto, not '$enable_all_plugins'])])
hlb_plugin_table=""
hlb_plugins_built=""
])

# HLB_PLUGIN(NAME, DESCRIPTION, DEPENDENCY-TEST, WHAT-IS-MISSING)
# DEPENDENCY-TEST is shell code that sets hlb_cv_dep_NAME to yes or no.
AC_DEFUN([HLB_PLUGIN], [
AC_ARG_ENABLE([$1],
  [AS_HELP_STRING([--enable-$1], [$2 @<:@auto@:>@])],
  [hlb_want_$1=$enableval], [hlb_want_$1=$enable_all_plugins])
AC_CACHE_CHECK([whether the dependencies of plugin $1 are met], [hlb_cv_dep_$1], [$3])
hlb_build_$1=no
AS_CASE([$hlb_want_$1],
  [yes], [AS_IF([test "x$hlb_cv_dep_$1" = xyes],
            [hlb_build_$1=yes; hlb_why="enabled"],
            [AC_MSG_ERROR([plugin $1 was enabled (--enable-$1), but $4 is missing; install it or use --disable-$1])])],
  [auto], [AS_IF([test "x$hlb_cv_dep_$1" = xyes],
            [hlb_build_$1=yes; hlb_why="dependencies found"],
            [hlb_why="$4 is missing"])],
  [no], [hlb_why="disabled"],
  [AC_MSG_ERROR([--enable-$1 takes yes, no or auto, not '$hlb_want_$1'])])
AM_CONDITIONAL([BUILD_PLUGIN_]m4_toupper([$1]), [test "x$hlb_build_$1" = xyes])
AS_IF([test "x$hlb_build_$1" = xyes], [hlb_plugins_built="$hlb_plugins_built $1"])
hlb_plugin_table="$hlb_plugin_table
$(printf '    %-12s %-6s %s' "$1" "$hlb_build_$1" "$hlb_why")"
])

# HLB_PLUGINS_SUMMARY: the table printed at the end of configure.
AC_DEFUN([HLB_PLUGINS_SUMMARY], [
AC_MSG_NOTICE([plugins:
    plugin       build  why$hlb_plugin_table
])
])
