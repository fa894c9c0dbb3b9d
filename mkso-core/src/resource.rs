//! Typed resources.
//!
//! A resource type has a type token (`mkso:builtin:Data`, `aws:ec2:Vpc`), typed
//! arguments (each an [`Input`](crate::Input): a plain value or another
//! resource's output), the plain *inputs* a provider receives once those are
//! resolved, and typed outputs. The [`resource!`](crate::resource!) macro
//! declares all of that in one place:
//!
//! ```
//! mkso::resource! {
//!     /// A DNS record (for illustration).
//!     pub struct Record("example:dns:Record") {
//!         args RecordArgs => RecordInputs {
//!             /// The record's name.
//!             name: String,
//!             /// Its value.
//!             value: String,
//!             ttl: u32,
//!         }
//!         outputs RecordOutputs {
//!             fqdn: String,
//!         }
//!     }
//! }
//!
//! use mkso::prelude::*;
//! let args = RecordArgs::default().name("www").value("10.0.0.1").ttl(300);
//! # let _ = args;
//! ```
//!
//! The macro generates:
//! - `Record`, the handle a program gets back, with one accessor per output
//!   (`record.fqdn()` is an `Output<String>`), plus `urn()`, `id()` and `outputs()`
//!   from the [`Resource`] trait, and `Record::new(&stack, name, args, opts)`;
//! - `RecordArgs`, with `Input<T>` fields and a builder setter per field;
//! - `RecordInputs` and `RecordOutputs`, plain serde structs for providers.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::names::Urn;
use crate::options::ResourceRef;
use crate::output::{Output, OutputValue};

/// The arguments of a resource type: they resolve to the JSON inputs the
/// provider receives.
pub trait ResourceArgs: Send + 'static {
    /// All arguments as one JSON object output.
    fn into_inputs(self) -> Output<Value>;
}

/// A registered resource, as the program holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Registered {
    urn: Urn,
}

impl Registered {
    #[doc(hidden)]
    pub fn new(urn: Urn) -> Self {
        Registered { urn }
    }
    /// The resource's URN.
    pub fn urn(&self) -> &Urn {
        &self.urn
    }
    /// One output property, typed.
    pub fn property<T: OutputValue + DeserializeOwned>(&self, name: &'static str) -> Output<T> {
        Output::from_resource(self.urn.clone(), name)
    }
}

impl ResourceRef for Registered {
    fn urn(&self) -> &Urn {
        &self.urn
    }
}

/// A resource type with typed arguments and outputs; see the module docs.
pub trait Resource: ResourceRef + Sized + Send + Sync + 'static {
    /// The type token, `package:module:Type`.
    const TYPE: &'static str;
    /// The arguments a program passes.
    type Args: ResourceArgs;
    /// The resolved inputs a provider receives.
    type Inputs: Serialize + DeserializeOwned + OutputValue;
    /// The outputs a provider returns.
    type Outputs: Serialize + DeserializeOwned + OutputValue;
    #[doc(hidden)]
    fn from_registered(r: Registered) -> Self;
    /// The registration handle.
    fn registered(&self) -> &Registered;

    /// The provider's id of the resource.
    fn id(&self) -> Output<String> {
        Output::resource_id(self.registered().urn().clone())
    }
    /// All outputs as one typed value.
    fn outputs(&self) -> Output<Self::Outputs> {
        Output::from_resource(self.registered().urn().clone(), "")
    }
}

/// Declares a resource type; see the [module docs](crate::resource).
#[macro_export]
macro_rules! resource {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($token:literal) {
            args $args:ident => $inputs:ident {
                $( $(#[$ameta:meta])* $afield:ident : $aty:ty ),* $(,)?
            }
            outputs $outs:ident {
                $( $(#[$ometa:meta])* $ofield:ident : $oty:ty ),* $(,)?
            }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        $vis struct $name {
            registered: $crate::Registered,
        }

        #[doc = concat!("Arguments of [`", stringify!($name), "`]: each is a plain value or an output.")]
        #[derive(Debug, Clone, Default)]
        $vis struct $args {
            $( $(#[$ameta])* pub $afield: $crate::Input<$aty>, )*
        }

        impl $args {
            $(
                #[doc = concat!("Sets `", stringify!($afield), "`.")]
                #[must_use]
                pub fn $afield(mut self, value: impl ::std::convert::Into<$crate::Input<$aty>>) -> Self {
                    self.$afield = value.into();
                    self
                }
            )*
        }

        impl $crate::ResourceArgs for $args {
            fn into_inputs(self) -> $crate::Output<$crate::serde_json::Value> {
                $crate::Output::object(vec![
                    $( (stringify!($afield), self.$afield.into_json()), )*
                ])
            }
        }

        #[doc = concat!("Resolved inputs of [`", stringify!($name), "`], as its provider receives them.")]
        #[derive(Debug, Clone, PartialEq, $crate::serde::Serialize, $crate::serde::Deserialize)]
        #[serde(crate = "::mkso::serde")]
        $vis struct $inputs {
            $( $(#[$ameta])* #[serde(default)] pub $afield: $aty, )*
        }

        #[doc = concat!("Outputs of [`", stringify!($name), "`].")]
        #[derive(Debug, Clone, PartialEq, $crate::serde::Serialize, $crate::serde::Deserialize)]
        #[serde(crate = "::mkso::serde")]
        $vis struct $outs {
            $( $(#[$ometa])* pub $ofield: $oty, )*
        }

        impl $crate::ResourceRef for $name {
            fn urn(&self) -> &$crate::Urn {
                self.registered.urn()
            }
        }

        impl $crate::Resource for $name {
            const TYPE: &'static str = $token;
            type Args = $args;
            type Inputs = $inputs;
            type Outputs = $outs;
            fn from_registered(r: $crate::Registered) -> Self {
                $name { registered: r }
            }
            fn registered(&self) -> &$crate::Registered {
                &self.registered
            }
        }

        impl $name {
            /// The type token.
            pub const TYPE: &'static str = $token;

            /// Declares the resource in the stack.
            #[track_caller]
            pub fn new(
                stack: &$crate::Stack,
                name: &str,
                args: $args,
                opts: $crate::ResourceOptions,
            ) -> ::std::result::Result<Self, $crate::Error> {
                stack.register::<$name>(name, args, opts)
            }

            $(
                $(#[$ometa])*
                pub fn $ofield(&self) -> $crate::Output<$oty> {
                    self.registered.property(stringify!($ofield))
                }
            )*
        }
    };
}
