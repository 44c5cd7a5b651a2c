// Asio compiled once, here (BOOST_ASIO_SEPARATE_COMPILATION): every other file includes its
// headers only.
#include <boost/asio/impl/src.hpp>
