// Beast compiled once, here (BOOST_BEAST_SEPARATE_COMPILATION): every other file includes its
// headers only.
#include <boost/beast/src.hpp>
