// Boost.Beast, compiled once for the whole program (BOOST_BEAST_SEPARATE_COMPILATION is defined
// for every target that links kmslab::net).
#include <boost/beast/src.hpp>
