# Checks that the sources of one library of src/ include headers only from folders it may use:
# its own, and those it depends on (directly or through them). Run by the build before the
# library compiles (spate_library in CMakeLists.txt), so a back edge fails the build.
#
#   cmake -DCONFIG=<build>/layering/<lib>.cmake [-DFILES=a.cc;b.h] [-DSTAMP=<file>] -P this
#
# CONFIG sets LIB (the folder, e.g. "stream"), ALLOWED (the folders it may include from) and
# FILES (its sources and headers); -DFILES overrides them (the layering test's probe).
set(override_files "${FILES}")
include("${CONFIG}")
if(override_files)
  set(FILES "${override_files}")
endif()

set(bad "")
foreach(f IN LISTS FILES)
  file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*" "\\1" header "${line}")
    get_filename_component(folder "${header}" DIRECTORY)
    list(FIND ALLOWED "${folder}" at)
    if(at EQUAL -1)
      if(folder STREQUAL "")
        set(folder "(no folder)")
      endif()
      string(APPEND bad "\n  ${f}: #include \"${header}\": ${LIB} does not depend on ${folder}")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "layering of src/${LIB} broken:${bad}\n"
          "A library may include its own headers and those of the libraries it depends on "
          "(spate_library(${LIB} DEPS ...) in CMakeLists.txt). Add the dependency there if it "
          "belongs to the design; a dependency on a library declared later is a cycle.")
endif()
if(STAMP)
  file(TOUCH "${STAMP}")
endif()
