// The one include for Asio in kmslab. Asio is compiled once (BOOST_ASIO_SEPARATE_COMPILATION, see
// net/src/asio_impl.cpp), so including this costs declarations only. Parsers and fuzz targets must
// not include it: they stay free of Asio by design.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace kmslab::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
}  // namespace kmslab::net
