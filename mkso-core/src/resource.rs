//! Typed resources.
//!
//! A resource type has a type token (`mkso:builtin:Data`, `aws:ec2:Vpc`), typed
//! arguments (each an [`Input`](crate::Input): a plain value or another
//! resource's output), the plain *inputs* a provider receives once those are
//! resolved, and typed outputs. A struct of its inputs with
//! `#[derive(mkso::Resource)]` and one of its outputs with
//! `#[derive(mkso::ResourceOutputs)]` declare all of that:
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! /// A DNS record (for illustration).
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
//! #[mkso(type = "example:dns:Record", resource = Record, outputs = RecordOutputs)]
//! pub struct RecordInputs {
//!     /// The record's name; a new name is a new record.
//!     #[mkso(replace)]
//!     pub name: String,
//!     /// Its value.
//!     pub value: String,
//!     /// Time to live in seconds (optional).
//!     pub ttl: Option<u32>,
//! }
//!
//! /// What a record reports.
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
//! #[mkso(resource = Record)]
//! pub struct RecordOutputs {
//!     /// The fully qualified name.
//!     pub fqdn: String,
//! }
//!
//! let args: RecordArgs = RecordArgs::builder().name("www").value("10.0.0.1").ttl(300).into();
//! # let _ = args;
//! ```
//!
//! This generates:
//! - `Record`, the handle a program gets back, with one accessor per output
//!   (`record.fqdn()` is an `Output<String>`), plus `urn()`, `id()` and `outputs()`
//!   from the [`Resource`] trait, and `Record::new(&stack, name, args, opts)`;
//! - `RecordArgs` (`Input<T>` fields) and its builder, whose required inputs
//!   (`name`, `value`) are checked at compile time;
//! - the property metadata of [`typed::TypedResource`](crate::typed::TypedResource).
//!
//! See [`typed`](crate::typed) for the field attributes and for writing the
//! provider side.

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

/// Declares a resource type whose inputs are all optional, in one block
/// (the builtin and test types use it). It is a thin wrapper over
/// `#[derive(mkso::Resource)]` and `#[derive(mkso::ResourceOutputs)]`; new
/// types use those directly (see [`typed`](crate::typed)), where required
/// inputs, replace-forcing and secret properties are declared per field.
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
        #[derive(Debug, Clone, PartialEq, $crate::serde::Serialize, $crate::serde::Deserialize, $crate::Resource)]
        #[serde(crate = "::mkso::serde")]
        #[mkso(type = $token, resource = $name, args = $args, outputs = $outs)]
        $vis struct $inputs {
            $( $(#[$ameta])* #[serde(default)] pub $afield: $aty, )*
        }

        #[doc = concat!("Outputs of [`", stringify!($name), "`].")]
        #[derive(Debug, Clone, PartialEq, $crate::serde::Serialize, $crate::serde::Deserialize, $crate::ResourceOutputs)]
        #[serde(crate = "::mkso::serde")]
        #[mkso(resource = $name)]
        $vis struct $outs {
            $( $(#[$ometa])* pub $ofield: $oty, )*
        }
    };
}
