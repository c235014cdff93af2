// The single translation unit that compiles Asio's implementation (separate compilation keeps
// every other file cheap to build on two cores).
#include <boost/asio/impl/src.hpp>
